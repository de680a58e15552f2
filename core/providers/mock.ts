/**
 * The built-in mock upstream: deterministic answers, realistic usage,
 * streaming and embeddings, with no network and no keys. It is what the
 * embedded default serves as `mock-gpt` and `mock-embed`.
 *
 * It plays along with the request: `tools` (and legacy `functions`) get a
 * call when the last user message names a function or `tool_choice` forces
 * one, and a text answer quoting the results after them; `n` gives `n`
 * choices; `response_format` gives JSON (an instance of the `json_schema`
 * when one is given). What it says is decided in `mock_turn.ts`; this file
 * shapes it as OpenAI does, JSON or SSE.
 * @module
 */
import { encodeSse } from "../stream/sse.ts";
import {
  chatChoices,
  completionTexts,
  fnv1a,
  type MockChoice,
  type MockRefusal,
  textOf,
} from "./mock_turn.ts";
import type { Deployment, Provider, UpstreamRequest, UpstreamResponse } from "./types.ts";

/** Rough token count: about four characters per token, as OpenAI's rule of thumb. */
export function estimateTokens(text: string): number {
  return text ? Math.max(1, Math.ceil(text.length / 4)) : 0;
}

/** Tokens of the prompt: messages (or the prompt) and any declared functions (an estimate). */
export function promptTokens(messages: unknown, body: Record<string, unknown>): number {
  const declared = body.tools ?? body.functions;
  const functions = declared === undefined ? 0 : estimateTokens(JSON.stringify(declared));
  if (!Array.isArray(messages)) return estimateTokens(textOf(messages)) + functions;
  return messages.reduce((n, m) => n + 4 + estimateTokens(textOf(m?.content)), 3) + functions;
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

/** Tokens of one chat choice: its text, or its call's name and arguments. */
function choiceTokens(choice: MockChoice): number {
  const call = choice.call ? estimateTokens(choice.call.name + choice.call.arguments) : 0;
  return estimateTokens(choice.content ?? "") + call;
}

/** A choice's assistant message, as a non-stream chat answer carries it. */
function chatMessage(choice: MockChoice): Record<string, unknown> {
  const message: Record<string, unknown> = {
    role: "assistant",
    content: choice.content,
    refusal: null,
  };
  const call = choice.call;
  if (!call) return message;
  const fn = { name: call.name, arguments: call.arguments };
  if (choice.finishReason === "function_call") message.function_call = fn;
  else message.tool_calls = [{ id: call.id, type: "function", function: fn }];
  return message;
}

/**
 * A choice's stream deltas, before its finish chunk: the role, then words,
 * or the call's head and its arguments in pieces, as OpenAI splits them.
 */
function choiceDeltas(choice: MockChoice): Record<string, unknown>[] {
  const call = choice.call;
  if (!call) {
    const words = choice.content?.match(/\S+\s*/g) ?? [];
    return [{ role: "assistant", content: "" }, ...words.map((w) => ({ content: w }))];
  }
  const pieces = call.arguments.match(/[\s\S]{1,6}/gu) ?? [];
  if (choice.finishReason === "function_call") {
    return [
      { role: "assistant", content: null, function_call: { name: call.name, arguments: "" } },
      ...pieces.map((p) => ({ function_call: { arguments: p } })),
    ];
  }
  const head = {
    index: 0,
    id: call.id,
    type: "function",
    function: { name: call.name, arguments: "" },
  };
  return [
    { role: "assistant", content: null, tool_calls: [head] },
    ...pieces.map((p) => ({ tool_calls: [{ index: 0, function: { arguments: p } }] })),
  ];
}

/** A stream of SSE events, one per `pull`. */
function sseStream(events: string[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i < events.length) controller.enqueue(encodeSse(events[i++]));
      else controller.close();
    },
  });
}

/** Identity fields shared by every chunk or answer of one call. */
interface Head {
  id: string;
  created: number;
  model: string;
}

/** Token counts of one answer. */
interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

const usageOf = (prompt: number, completion: number): Usage => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
});

/** The SSE events of a chat stream: the choices' chunks interleaved, finish chunks, usage, `[DONE]`. */
function chatEvents(head: Head, choices: MockChoice[], usage: Usage): string[] {
  const chunk = (index: number, delta: Record<string, unknown>, finish: string | null) =>
    JSON.stringify({
      ...head,
      object: "chat.completion.chunk",
      choices: [{ index, delta, finish_reason: finish }],
    });
  const lanes = choices.map((choice, index) => [
    ...choiceDeltas(choice).map((delta) => chunk(index, delta, null)),
    chunk(index, {}, choice.finishReason),
  ]);
  const events: string[] = [];
  const longest = Math.max(...lanes.map((lane) => lane.length));
  for (let round = 0; round < longest; round++) {
    for (const lane of lanes) if (round < lane.length) events.push(lane[round]);
  }
  events.push(JSON.stringify({ ...head, object: "chat.completion.chunk", choices: [], usage }));
  events.push("[DONE]");
  return events;
}

function chatAnswer(
  head: Head,
  body: Record<string, unknown>,
  stream: boolean,
  sent: UpstreamResponse["sent"],
): UpstreamResponse {
  const choices = chatChoices(body);
  if (isRefusal(choices)) return invalidValue(choices[0], choices[1], sent);
  const completion = choices.reduce((n, c) => n + choiceTokens(c), 0);
  const usage = usageOf(promptTokens(body.messages, body), completion);
  if (stream) return { status: 200, stream: sseStream(chatEvents(head, choices, usage)), sent };
  const json = {
    ...head,
    object: "chat.completion",
    choices: choices.map((choice, index) => ({
      index,
      message: chatMessage(choice),
      finish_reason: choice.finishReason,
      logprobs: null,
    })),
    usage,
  };
  return { status: 200, json, sent };
}

const isRefusal = (value: MockChoice[] | MockRefusal): value is MockRefusal =>
  typeof value[0] === "string";

function completionAnswer(
  head: Head,
  body: Record<string, unknown>,
  stream: boolean,
  sent: UpstreamResponse["sent"],
): UpstreamResponse {
  const texts = completionTexts(body);
  const completion = texts.reduce((n, t) => n + estimateTokens(t), 0);
  const usage = usageOf(promptTokens(body.prompt, body), completion);
  const choices = texts.map((text, index) => ({
    index,
    text,
    finish_reason: "stop",
    logprobs: null,
  }));
  const json = { ...head, object: "text_completion", choices, usage };
  if (!stream) return { status: 200, json, sent };
  const events = [
    ...choices.map((choice) => JSON.stringify({ ...json, choices: [choice], usage: null })),
    JSON.stringify({ ...json, choices: [], usage }),
    "[DONE]",
  ];
  return { status: 200, stream: sseStream(events), sent };
}

/** The mock adapter. */
export const mockProvider: Provider = {
  send(deployment: Deployment, request: UpstreamRequest): Promise<UpstreamResponse> {
    const body: Record<string, unknown> = { ...request.body, model: deployment.upstreamModel };
    const sent = { url: "mock://" + deployment.upstreamModel, headers: {}, body };
    const limit = mockLimit(request.callType, body);
    if (limit) return Promise.resolve(invalidValue(limit[0], limit[1], sent));
    if (request.callType === "embedding") {
      return Promise.resolve({ status: 200, json: embeddings(deployment, body), sent });
    }
    const head: Head = {
      id: "mock-" + crypto.randomUUID(),
      created: Math.floor(Date.now() / 1000),
      model: deployment.upstreamModel,
    };
    const answer = request.callType === "chat" ? chatAnswer : completionAnswer;
    return Promise.resolve(answer(head, body, request.stream, sent));
  },
};
