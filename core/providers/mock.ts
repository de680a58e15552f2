/**
 * The built-in mock upstream: deterministic answers, realistic usage,
 * streaming and embeddings, with no network and no keys. It is what the
 * embedded default serves as `mock-gpt` and `mock-embed`.
 * @module
 */
import { encodeSse } from "../stream/sse.ts";
import type { Deployment, Provider, UpstreamRequest, UpstreamResponse } from "./types.ts";

/** Rough token count: about four characters per token, as OpenAI's rule of thumb. */
export function estimateTokens(text: string): number {
  return text ? Math.max(1, Math.ceil(text.length / 4)) : 0;
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content.map((p) => (p && typeof p === "object" && "text" in p ? String(p.text) : ""))
      .join(" ");
  }
  return "";
}

function promptTokens(messages: unknown): number {
  if (!Array.isArray(messages)) return estimateTokens(textOf(messages));
  return messages.reduce((n, m) => n + 4 + estimateTokens(textOf(m?.content)), 3);
}

/** The deterministic mock answer for a prompt. */
export function mockAnswer(lastUserText: string): string {
  const quoted = lastUserText.length > 120 ? lastUserText.slice(0, 117) + "..." : lastUserText;
  return `This is Sluice's mock model. You said: "${quoted}". ` +
    "Configure a real upstream in gateway.yaml to get real answers.";
}

function lastUserText(messages: unknown): string {
  if (!Array.isArray(messages)) return textOf(messages);
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i]?.role === "user") return textOf(messages[i].content);
  }
  return "";
}

/** A 32-bit FNV-1a hash, the seed of a deterministic embedding. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A unit vector derived from the text alone (same text, same vector). */
export function mockEmbedding(text: string, dimensions: number): Float32Array {
  const out = new Float32Array(dimensions);
  let state = fnv1a(text) || 1;
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = ((state >>> 0) / 0xffffffff) * 2 - 1;
    norm += out[i] * out[i];
  }
  norm = Math.sqrt(norm) || 1;
  for (let i = 0; i < dimensions; i++) out[i] /= norm;
  return out;
}

function base64OfFloats(vector: Float32Array): string {
  const bytes = new Uint8Array(vector.buffer, vector.byteOffset, vector.byteLength);
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary);
}

/** Largest embedding the mock makes (OpenAI's largest model has 3072). */
export const MOCK_MAX_DIMENSIONS = 4096;
/** Most inputs in one embeddings call (OpenAI's limit). */
export const MOCK_MAX_INPUTS = 2048;
/** Most numbers in one embeddings answer (inputs × dimensions). */
export const MOCK_MAX_VALUES = 262_144;
/** Largest `n` (OpenAI's limit). */
export const MOCK_MAX_N = 128;
/** Largest `max_tokens` / `max_completion_tokens` the mock accepts. */
export const MOCK_MAX_TOKENS = 1_000_000;

/** An OpenAI-shaped 400 from the mock, naming the parameter at fault. */
function invalidValue(param: string, message: string, sent: UpstreamResponse["sent"]) {
  return {
    status: 400,
    json: { error: { message, type: "invalid_request_error", param, code: "invalid_value" } },
    sent,
  };
}

/** The first parameter out of range as `[param, message]`, or undefined. */
function outOfRange(
  body: Record<string, unknown>,
  param: string,
  min: number,
  max: number,
): [string, string] | undefined {
  const value = body[param];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max) {
    return undefined;
  }
  return [
    param,
    `'${param}' must be an integer from ${min} to ${max}; got ${
      JSON.stringify(value).slice(0, 40)
    }.`,
  ];
}

/** What makes a mock call too costly to answer, as `[param, message]`; the mock's inputs are bounded. */
function mockLimit(
  callType: UpstreamRequest["callType"],
  body: Record<string, unknown>,
): [string, string] | undefined {
  if (callType !== "embedding") {
    return outOfRange(body, "n", 1, MOCK_MAX_N) ??
      outOfRange(body, "max_tokens", 1, MOCK_MAX_TOKENS) ??
      outOfRange(body, "max_completion_tokens", 1, MOCK_MAX_TOKENS);
  }
  const dims = outOfRange(body, "dimensions", 1, MOCK_MAX_DIMENSIONS);
  if (dims) return dims;
  const count = embeddingInputs(body.input).length;
  if (count > MOCK_MAX_INPUTS) {
    return ["input", `'input' may hold at most ${MOCK_MAX_INPUTS} items; got ${count}.`];
  }
  const values = count * ((body.dimensions as number | undefined) ?? DEFAULT_DIMENSIONS);
  if (values > MOCK_MAX_VALUES) {
    return [
      "input",
      `The mock answers at most ${MOCK_MAX_VALUES} numbers per call (inputs × dimensions); got ${values}.`,
    ];
  }
  return undefined;
}

const DEFAULT_DIMENSIONS = 64;

function embeddingInputs(raw: unknown): string[] {
  return typeof raw === "string"
    ? [raw]
    : Array.isArray(raw)
    ? raw.every((x) => typeof x === "number")
      ? [JSON.stringify(raw)]
      : raw.map((x) => typeof x === "string" ? x : JSON.stringify(x))
    : [];
}

function embeddings(deployment: Deployment, body: Record<string, unknown>): unknown {
  const inputs = embeddingInputs(body.input);
  const dimensions = typeof body.dimensions === "number" ? body.dimensions : DEFAULT_DIMENSIONS;
  const base64 = body.encoding_format === "base64";
  const tokens = inputs.reduce((n, s) => n + estimateTokens(s), 0);
  return {
    object: "list",
    model: deployment.upstreamModel,
    data: inputs.map((text, index) => {
      const vector = mockEmbedding(text, dimensions);
      return {
        object: "embedding",
        index,
        embedding: base64 ? base64OfFloats(vector) : Array.from(vector),
      };
    }),
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

function chatStream(
  id: string,
  model: string,
  answer: string,
  promptTok: number,
  completionTok: number,
) {
  const created = Math.floor(Date.now() / 1000);
  const words = answer.match(/\S+\s*/g) ?? [];
  const chunk = (delta: Record<string, unknown>, finish: string | null) =>
    JSON.stringify({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
  const events = [
    chunk({ role: "assistant", content: "" }, null),
    ...words.map((w) => chunk({ content: w }, null)),
    chunk({}, "stop"),
    JSON.stringify({
      id,
      object: "chat.completion.chunk",
      created,
      model,
      choices: [],
      usage: {
        prompt_tokens: promptTok,
        completion_tokens: completionTok,
        total_tokens: promptTok + completionTok,
      },
    }),
    "[DONE]",
  ];
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < events.length) controller.enqueue(encodeSse(events[i++]));
      else controller.close();
    },
  });
}

/** The mock adapter. */
export const mockProvider: Provider = {
  send(deployment: Deployment, request: UpstreamRequest): Promise<UpstreamResponse> {
    const body: Record<string, unknown> = { ...request.body, model: deployment.upstreamModel };
    const sent = { url: "mock://" + deployment.upstreamModel, headers: {}, body };
    const id = "mock-" + crypto.randomUUID();
    const model = deployment.upstreamModel;
    const limit = mockLimit(request.callType, body);
    if (limit) return Promise.resolve(invalidValue(limit[0], limit[1], sent));
    if (request.callType === "embedding") {
      return Promise.resolve({ status: 200, json: embeddings(deployment, body), sent });
    }
    const prompt = request.callType === "chat" ? body.messages : body.prompt;
    const answer = mockAnswer(lastUserText(prompt));
    const promptTok = promptTokens(prompt);
    const completionTok = estimateTokens(answer);
    const usage = {
      prompt_tokens: promptTok,
      completion_tokens: completionTok,
      total_tokens: promptTok + completionTok,
    };
    if (request.stream && request.callType === "chat") {
      return Promise.resolve({
        status: 200,
        stream: chatStream(id, model, answer, promptTok, completionTok),
        sent,
      });
    }
    const created = Math.floor(Date.now() / 1000);
    if (request.callType === "completion") {
      const json = {
        id,
        object: "text_completion",
        created,
        model,
        choices: [{ index: 0, text: answer, finish_reason: "stop", logprobs: null }],
        usage,
      };
      if (!request.stream) return Promise.resolve({ status: 200, json, sent });
      const events = [
        JSON.stringify({
          ...json,
          choices: [{ index: 0, text: answer, finish_reason: "stop", logprobs: null }],
          usage: null,
        }),
        JSON.stringify({ ...json, choices: [], usage }),
        "[DONE]",
      ];
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          for (const e of events) c.enqueue(encodeSse(e));
          c.close();
        },
      });
      return Promise.resolve({ status: 200, stream, sent });
    }
    return Promise.resolve({
      status: 200,
      json: {
        id,
        object: "chat.completion",
        created,
        model,
        choices: [{
          index: 0,
          message: { role: "assistant", content: answer, refusal: null },
          finish_reason: "stop",
          logprobs: null,
        }],
        usage,
      },
      sent,
    });
  },
};
