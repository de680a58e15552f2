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

function embeddings(deployment: Deployment, body: Record<string, unknown>): unknown {
  const raw = body.input;
  const inputs: string[] = typeof raw === "string"
    ? [raw]
    : Array.isArray(raw)
    ? raw.every((x) => typeof x === "number")
      ? [JSON.stringify(raw)]
      : raw.map((x) => typeof x === "string" ? x : JSON.stringify(x))
    : [];
  const dimensions = typeof body.dimensions === "number" ? body.dimensions : 64;
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
