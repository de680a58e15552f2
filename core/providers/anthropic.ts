/**
 * Anthropic Messages API (`POST {api_base}/v1/messages`): translates
 * OpenAI-shaped chat requests into Anthropic's shape and Anthropic's answers
 * (JSON, errors and SSE streams) back into OpenAI's, event by event.
 * @module
 */
import { joinUrl, pathPartOf, postJson } from "./http.ts";
import { displayUrl } from "../sink_http.ts";
import type { Deployment, Provider, UpstreamRequest, UpstreamResponse } from "./types.ts";
import { StreamFault } from "../stream/fault.ts";
import { encodeSse, SseParser } from "../stream/sse.ts";

/** Default base URL of the Anthropic API. */
export const ANTHROPIC_API_BASE = "https://api.anthropic.com";
/** The `anthropic-version` header sent with every request. */
export const ANTHROPIC_VERSION = "2023-06-01";
/** `max_tokens` sent when the client sets neither `max_tokens` nor `max_completion_tokens`. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;

type Json = Record<string, unknown>;
type Block = Json;
interface AnthropicMessage {
  role: "user" | "assistant";
  content: string | Block[];
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Builds the Messages endpoint URL: `…/v1` gets `/messages`, anything else `/v1/messages`. */
export function anthropicUrl(apiBase: string | undefined): string {
  const base = apiBase ?? ANTHROPIC_API_BASE;
  return joinUrl(base, /\/v1\/*$/.test(pathPartOf(base)) ? "messages" : "v1/messages");
}

/** Concatenates the text of an OpenAI content value (a string or an array of parts). */
function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  let text = "";
  for (const part of content) {
    if (typeof part === "string") text += part;
    else if (isObject(part) && typeof part.text === "string") text += part.text;
    else if (isObject(part) && typeof part.refusal === "string") text += part.refusal;
  }
  return text;
}

function imageBlock(part: Json): Block | undefined {
  const imageUrl = part.image_url;
  const url = typeof imageUrl === "string"
    ? imageUrl
    : isObject(imageUrl)
    ? imageUrl.url
    : undefined;
  if (typeof url !== "string" || !url) return undefined;
  const data = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(url);
  if (data) {
    return { type: "image", source: { type: "base64", media_type: data[1], data: data[2] } };
  }
  return { type: "image", source: { type: "url", url } };
}

/** Translates an OpenAI content value into Anthropic blocks (empty text dropped). */
function contentBlocks(content: unknown): Block[] {
  if (typeof content === "string") return content ? [{ type: "text", text: content }] : [];
  if (!Array.isArray(content)) return [];
  const blocks: Block[] = [];
  for (const part of content) {
    if (typeof part === "string") {
      if (part) blocks.push({ type: "text", text: part });
      continue;
    }
    if (!isObject(part)) continue;
    if ((part.type === "text" || part.type === "input_text") && typeof part.text === "string") {
      if (part.text) blocks.push({ type: "text", text: part.text });
    } else if (part.type === "refusal" && typeof part.refusal === "string") {
      if (part.refusal) blocks.push({ type: "text", text: part.refusal });
    } else if (part.type === "image_url") {
      const block = imageBlock(part);
      if (block) blocks.push(block);
    }
  }
  return blocks;
}

function parseArguments(args: unknown): unknown {
  if (isObject(args)) return args;
  if (typeof args !== "string") return {};
  try {
    const parsed = JSON.parse(args);
    return isObject(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

function asBlocks(content: string | Block[]): Block[] {
  if (typeof content !== "string") return content;
  return content ? [{ type: "text", text: content }] : [];
}

/** Appends a message, merging it into the previous one when the role repeats. */
function pushMessage(messages: AnthropicMessage[], message: AnthropicMessage): void {
  const last = messages.at(-1);
  if (last && last.role === message.role) {
    last.content = [...asBlocks(last.content), ...asBlocks(message.content)];
  } else {
    messages.push(message);
  }
}

function translateTools(tools: unknown): Json[] | undefined {
  if (!Array.isArray(tools)) return undefined;
  const out: Json[] = [];
  for (const tool of tools) {
    if (!isObject(tool) || tool.type !== "function" || !isObject(tool.function)) continue;
    const fn = tool.function;
    const translated: Json = {
      name: fn.name,
      input_schema: isObject(fn.parameters) ? fn.parameters : { type: "object" },
    };
    if (typeof fn.description === "string") translated.description = fn.description;
    out.push(translated);
  }
  return out.length ? out : undefined;
}

function translateToolChoice(choice: unknown): Json | undefined {
  if (choice === "auto") return { type: "auto" };
  if (choice === "required") return { type: "any" };
  if (choice === "none") return { type: "none" };
  if (isObject(choice) && isObject(choice.function) && typeof choice.function.name === "string") {
    return { type: "tool", name: choice.function.name };
  }
  return undefined;
}

/** Translates an OpenAI chat completion body into an Anthropic Messages body. */
export function toAnthropicRequest(body: Record<string, unknown>, upstreamModel: string): Json {
  const system: string[] = [];
  const messages: AnthropicMessage[] = [];
  for (const raw of Array.isArray(body.messages) ? body.messages : []) {
    if (!isObject(raw)) continue;
    const role = raw.role;
    if (role === "system" || role === "developer") {
      const text = textOf(raw.content);
      if (text) system.push(text);
    } else if (role === "user") {
      const content = typeof raw.content === "string" ? raw.content : contentBlocks(raw.content);
      if (content.length) pushMessage(messages, { role: "user", content });
    } else if (role === "assistant") {
      const blocks = contentBlocks(raw.content);
      for (const call of Array.isArray(raw.tool_calls) ? raw.tool_calls : []) {
        if (!isObject(call) || !isObject(call.function)) continue;
        blocks.push({
          type: "tool_use",
          id: call.id,
          name: call.function.name,
          input: parseArguments(call.function.arguments),
        });
      }
      const onlyText = typeof raw.content === "string" && blocks.length === 1;
      if (blocks.length) {
        pushMessage(messages, {
          role: "assistant",
          content: onlyText ? raw.content as string : blocks,
        });
      }
    } else if (role === "tool") {
      pushMessage(messages, {
        role: "user",
        content: [{
          type: "tool_result",
          tool_use_id: raw.tool_call_id,
          content: textOf(raw.content),
        }],
      });
    }
  }

  const out: Json = {
    model: upstreamModel,
    messages,
    max_tokens: body.max_tokens ?? body.max_completion_tokens ?? ANTHROPIC_DEFAULT_MAX_TOKENS,
  };
  if (system.length) out.system = system.join("\n\n");
  for (const field of ["temperature", "top_p", "top_k"]) {
    if (typeof body[field] === "number") out[field] = body[field];
  }
  if (typeof body.stop === "string") out.stop_sequences = [body.stop];
  else if (Array.isArray(body.stop) && body.stop.length) out.stop_sequences = body.stop;
  if (body.stream === true) out.stream = true;
  if (typeof body.user === "string" && body.user) out.metadata = { user_id: body.user };
  const tools = translateTools(body.tools);
  if (tools) out.tools = tools;
  const toolChoice = translateToolChoice(body.tool_choice);
  if (toolChoice) out.tool_choice = toolChoice;
  // Anthropic-native extended thinking, when a client sends it through.
  if (isObject(body.thinking)) out.thinking = body.thinking;
  return out;
}

/** Maps an Anthropic `stop_reason` to an OpenAI `finish_reason`. */
export function mapStopReason(reason: unknown): string {
  switch (reason) {
    case "max_tokens":
      return "length";
    case "tool_use":
      return "tool_calls";
    default:
      return "stop";
  }
}

function num(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) ? value : 0;
}

interface AnthropicUsage {
  input_tokens?: unknown;
  output_tokens?: unknown;
  cache_read_input_tokens?: unknown;
  cache_creation_input_tokens?: unknown;
}

/** Converts Anthropic usage counters into OpenAI's `usage` object. */
export function toOpenAIUsage(usage: AnthropicUsage): Json {
  const cacheRead = num(usage.cache_read_input_tokens);
  const prompt = num(usage.input_tokens) + cacheRead + num(usage.cache_creation_input_tokens);
  const completion = num(usage.output_tokens);
  const out: Json = {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead },
  };
  if (typeof usage.cache_creation_input_tokens === "number") {
    out.cache_creation_input_tokens = usage.cache_creation_input_tokens;
  }
  return out;
}

/** Translates an Anthropic Messages response into an OpenAI chat completion. */
export function fromAnthropicResponse(json: unknown): Json {
  const body = isObject(json) ? json : {};
  let text = "";
  let hasText = false;
  let reasoning = "";
  const toolCalls: Json[] = [];
  for (const block of Array.isArray(body.content) ? body.content : []) {
    if (!isObject(block)) continue;
    if (block.type === "text" && typeof block.text === "string") {
      text += block.text;
      hasText = true;
    } else if (block.type === "thinking" && typeof block.thinking === "string") {
      reasoning += block.thinking;
    } else if (block.type === "tool_use") {
      toolCalls.push({
        id: block.id,
        type: "function",
        function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) },
      });
    }
  }
  const message: Json = { role: "assistant", content: hasText ? text : null };
  if (reasoning) message.reasoning_content = reasoning;
  if (toolCalls.length) message.tool_calls = toolCalls;
  return {
    id: body.id,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: body.model,
    choices: [{
      index: 0,
      message,
      finish_reason: mapStopReason(body.stop_reason),
      logprobs: null,
    }],
    usage: toOpenAIUsage(isObject(body.usage) ? body.usage : {}),
  };
}

function openAIErrorType(status: number): string {
  switch (status) {
    case 400:
    case 404:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 429:
      return "rate_limit_error";
    default:
      return "api_error";
  }
}

const TYPE_BY_ANTHROPIC_ERROR: Record<string, string> = {
  invalid_request_error: "invalid_request_error",
  authentication_error: "authentication_error",
  permission_error: "permission_error",
  not_found_error: "invalid_request_error",
  request_too_large: "invalid_request_error",
  rate_limit_error: "rate_limit_error",
};

/** Translates an Anthropic error body (`{type:"error", error:{type, message}}`) into OpenAI's error shape. */
export function fromAnthropicError(status: number, json: unknown): Json {
  const inner = isObject(json) ? json.error : undefined;
  const message = isObject(inner) && typeof inner.message === "string"
    ? inner.message
    : typeof inner === "string"
    ? inner
    : `upstream returned ${status}`;
  const code = isObject(inner) && typeof inner.type === "string"
    ? inner.type
    : isObject(inner) && typeof inner.code === "string"
    ? inner.code
    : null;
  return { error: { message, type: openAIErrorType(status), param: null, code } };
}

/** Options for {@link anthropicStreamToOpenAI}. */
export interface AnthropicStreamOptions {
  /** Model reported when the upstream's `message_start` carries none. */
  model?: string;
  /** `created` of every chunk (default: now, in Unix seconds). */
  created?: number;
}

/** Translates an Anthropic SSE body into OpenAI chat chunk SSE, event by event; cancelling it cancels the upstream. */
export function anthropicStreamToOpenAI(
  upstream: ReadableStream<Uint8Array>,
  options: AnthropicStreamOptions = {},
): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  const created = options.created ?? Math.floor(Date.now() / 1000);
  let id = "";
  let model = options.model ?? "";
  const usage: AnthropicUsage = {};
  const toolIndex = new Map<number, number>();
  let tools = 0;
  let finished = false;

  const chunk = (delta: Json, finishReason: string | null = null): Uint8Array =>
    encodeSse(JSON.stringify({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finishReason }],
    }));

  const mergeUsage = (value: unknown) => {
    if (!isObject(value)) return;
    for (
      const key of [
        "input_tokens",
        "output_tokens",
        "cache_read_input_tokens",
        "cache_creation_input_tokens",
      ] as const
    ) {
      if (typeof value[key] === "number") usage[key] = value[key];
    }
  };

  /** Translates one event; returns the bytes to emit (possibly none). */
  const translate = (event: Json): Uint8Array[] => {
    switch (event.type) {
      case "message_start": {
        const message = isObject(event.message) ? event.message : {};
        if (typeof message.id === "string") id = message.id;
        if (typeof message.model === "string") model = message.model;
        mergeUsage(message.usage);
        return [chunk({ role: "assistant", content: "" })];
      }
      case "content_block_start": {
        const block = isObject(event.content_block) ? event.content_block : {};
        if (block.type === "tool_use") {
          const index = tools++;
          toolIndex.set(num(event.index), index);
          return [chunk({
            tool_calls: [{
              index,
              id: block.id,
              type: "function",
              function: { name: block.name, arguments: "" },
            }],
          })];
        }
        if (block.type === "text" && typeof block.text === "string" && block.text) {
          return [chunk({ content: block.text })];
        }
        if (block.type === "thinking" && typeof block.thinking === "string" && block.thinking) {
          return [chunk({ reasoning_content: block.thinking })];
        }
        return [];
      }
      case "content_block_delta": {
        const delta = isObject(event.delta) ? event.delta : {};
        if (delta.type === "text_delta" && typeof delta.text === "string") {
          return [chunk({ content: delta.text })];
        }
        if (delta.type === "thinking_delta" && typeof delta.thinking === "string") {
          return [chunk({ reasoning_content: delta.thinking })];
        }
        if (delta.type === "input_json_delta" && typeof delta.partial_json === "string") {
          const index = toolIndex.get(num(event.index));
          if (index === undefined) return [];
          return [chunk({ tool_calls: [{ index, function: { arguments: delta.partial_json } }] })];
        }
        return [];
      }
      case "message_delta": {
        mergeUsage(event.usage);
        const delta = isObject(event.delta) ? event.delta : {};
        return [chunk({}, mapStopReason(delta.stop_reason))];
      }
      case "message_stop": {
        finished = true;
        const final = encodeSse(JSON.stringify({
          id,
          object: "chat.completion.chunk",
          created,
          model,
          choices: [],
          usage: toOpenAIUsage(usage),
        }));
        return [final, encodeSse("[DONE]")];
      }
      case "error": {
        finished = true;
        const error = isObject(event.error) ? event.error : {};
        const code = typeof error.type === "string" ? error.type : "api_error";
        return [encodeSse(JSON.stringify({
          error: {
            message: typeof error.message === "string" ? error.message : "upstream stream error",
            type: TYPE_BY_ANTHROPIC_ERROR[code] ?? "api_error",
            code,
          },
        }))];
      }
      default:
        // ping, content_block_stop and unknown events carry nothing to forward.
        return [];
    }
  };

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        await pump(controller);
      } catch (error) {
        // An oversized event or a failed read: the upstream is let go, the relay reports it.
        await reader.cancel(error).catch(() => {});
        throw error;
      }
    },
    async cancel(reason) {
      await reader.cancel(reason).catch(() => {});
    },
  });

  /** Reads until there is something to send, or the stream ends. */
  async function pump(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    for (;;) {
      const result = await reader.read();
      const text = result.done ? "" : decoder.decode(result.value, { stream: true });
      const events = result.done ? parser.end() : parser.push(text);
      let sent = false;
      for (const sse of events) {
        let event: unknown;
        try {
          event = JSON.parse(sse.data);
        } catch {
          continue;
        }
        if (!isObject(event)) continue;
        if (typeof event.type !== "string" && sse.event) event.type = sse.event;
        for (const bytes of translate(event)) {
          controller.enqueue(bytes);
          sent = true;
        }
        if (finished) {
          controller.close();
          await reader.cancel().catch(() => {});
          return;
        }
      }
      if (result.done) {
        controller.error(
          new StreamFault(
            "upstream_stream_truncated",
            "anthropic stream ended before message_stop",
          ),
        );
        return;
      }
      if (sent) return;
    }
  }
}

/**
 * Anthropic's own token count of a Messages request (`…/v1/messages/count_tokens`),
 * sent as the client wrote it with the upstream model id and key.
 */
export function anthropicCountTokens(
  deployment: Deployment,
  body: Record<string, unknown>,
  clientHeaders: Record<string, string>,
  signal: AbortSignal,
): Promise<UpstreamResponse> {
  const { config } = deployment;
  const url = joinUrl(anthropicUrl(config.api_base), "count_tokens");
  const headers: Record<string, string> = {
    "anthropic-version": ANTHROPIC_VERSION,
    ...config.headers,
    ...clientHeaders,
  };
  if (config.api_key) headers["x-api-key"] = config.api_key;
  return postJson(url, headers, { ...body, model: deployment.upstreamModel }, false, signal);
}

/**
 * Anthropic Messages adapter: `{api_base}/v1/messages`, `x-api-key` auth;
 * chat calls translated, Messages calls (`/v1/messages`) as the client sent
 * them, with the upstream model id and the client's `anthropic-version` /
 * `anthropic-beta` (in `request.headers`).
 */
export const anthropicProvider: Provider = {
  async send(deployment: Deployment, request: UpstreamRequest): Promise<UpstreamResponse> {
    const { config } = deployment;
    const url = anthropicUrl(config.api_base);
    if (request.callType === "messages") {
      const headers: Record<string, string> = {
        "anthropic-version": ANTHROPIC_VERSION,
        ...config.headers,
        ...request.headers,
      };
      if (config.api_key) headers["x-api-key"] = config.api_key;
      const body = { ...request.body, model: deployment.upstreamModel };
      return await postJson(url, headers, body, request.stream, request.signal);
    }
    if (request.callType !== "chat") {
      return {
        status: 400,
        json: {
          error: {
            message: `provider anthropic does not support ${request.callType}; use a chat model`,
            type: "invalid_request_error",
            code: "unsupported_call_type",
          },
        },
        sent: { url: displayUrl(url), headers: {}, body: null },
      };
    }
    const headers: Record<string, string> = {
      "anthropic-version": ANTHROPIC_VERSION,
      ...config.headers,
      ...request.headers,
    };
    if (config.api_key) headers["x-api-key"] = config.api_key;
    const body = toAnthropicRequest(request.body, deployment.upstreamModel);
    const response = await postJson(url, headers, body, request.stream, request.signal);
    if (response.stream) {
      return {
        status: response.status,
        stream: anthropicStreamToOpenAI(response.stream, { model: deployment.upstreamModel }),
        retryAfter: response.retryAfter,
        sent: response.sent,
      };
    }
    const json = response.status >= 200 && response.status < 300
      ? fromAnthropicResponse(response.json)
      : fromAnthropicError(response.status, response.json);
    const { status, retryAfter, sent, final } = response;
    return { status, json, retryAfter, sent, final };
  },
};
