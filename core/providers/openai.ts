/**
 * OpenAI-compatible upstreams (OpenAI, vLLM, Ollama, Groq, …) and Azure
 * OpenAI, which differs only in URL shape, `api-version` and `api-key`.
 * @module
 */
import { joinUrl, postJson, withQueryParam } from "./http.ts";
import type {
  Deployment,
  Provider,
  ProxyCallType,
  UpstreamRequest,
  UpstreamResponse,
} from "./types.ts";

const PATHS: Record<ProxyCallType, string> = {
  chat: "chat/completions",
  completion: "completions",
  embedding: "embeddings",
  responses: "responses",
  messages: "messages", // Anthropic's API: only reached by a group that mixes providers
};

/** Default base URL of the OpenAI API. */
export const OPENAI_API_BASE = "https://api.openai.com/v1";
/** Azure `api-version` used when a model sets none. */
export const AZURE_DEFAULT_API_VERSION = "2024-10-21";

/**
 * The body to send: the request's with the upstream model id, and for
 * streams `stream_options.include_usage` unless the client set it. `bytes`
 * are the client's own bytes when they already say exactly that (the common
 * case: the public name is the upstream id), so nothing is encoded again.
 */
function upstreamBody(
  request: UpstreamRequest,
  model: string,
): { body: Record<string, unknown>; bytes?: Uint8Array<ArrayBuffer> } {
  const body: Record<string, unknown> = { ...request.body, model };
  const options = (body.stream_options ?? {}) as Record<string, unknown>;
  const usageOption = request.callType === "chat" || request.callType === "completion";
  if (request.stream && usageOption && options.include_usage === undefined) {
    return { body: { ...body, stream_options: { ...options, include_usage: true } } };
  }
  return { body, bytes: request.body.model === model ? request.bytes : undefined };
}

/** OpenAI-compatible adapter: `{api_base}/chat/completions`, Bearer auth. */
export const openaiProvider: Provider = {
  send(deployment: Deployment, request: UpstreamRequest): Promise<UpstreamResponse> {
    const { config } = deployment;
    const url = joinUrl(config.api_base ?? OPENAI_API_BASE, PATHS[request.callType]);
    const headers: Record<string, string> = { ...config.headers, ...request.headers };
    if (config.api_key) headers.authorization = `Bearer ${config.api_key}`;
    const { body, bytes } = upstreamBody(request, deployment.upstreamModel);
    return postJson(url, headers, body, request.stream, request.signal, bytes);
  },
};

/**
 * Azure OpenAI: `{api_base}/openai/deployments/{model}/{path}?api-version=…`
 * with an `api-key` header; `api_version: v1` selects the newer
 * `{api_base}/openai/v1/{path}` form with the model in the body.
 */
export const azureProvider: Provider = {
  send(deployment: Deployment, request: UpstreamRequest): Promise<UpstreamResponse> {
    const { config } = deployment;
    const base = config.api_base ?? "";
    const version = config.api_version ?? AZURE_DEFAULT_API_VERSION;
    const url = version === "v1"
      ? joinUrl(base, `openai/v1/${PATHS[request.callType]}`)
      : withQueryParam(
        joinUrl(
          base,
          `openai/deployments/${encodeURIComponent(deployment.upstreamModel)}/${
            PATHS[request.callType]
          }`,
        ),
        "api-version",
        version,
      );
    const headers: Record<string, string> = { ...config.headers, ...request.headers };
    if (config.api_key) headers["api-key"] = config.api_key;
    const { body, bytes } = upstreamBody(request, deployment.upstreamModel);
    return postJson(url, headers, body, request.stream, request.signal, bytes);
  },
};
