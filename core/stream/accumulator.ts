/**
 * Assembles streamed OpenAI chunks into the final message, tool calls and
 * usage for the log event, beside the stream (never in front of it).
 * @module
 */
import type { ChatMessage } from "../event/content.ts";

/** Token usage in OpenAI's shape. */
export interface Usage {
  /** Input tokens. */
  prompt_tokens?: number;
  /** Output tokens. */
  completion_tokens?: number;
  /** Total tokens. */
  total_tokens?: number;
  /** Cached input details. */
  prompt_tokens_details?: { cached_tokens?: number };
  /** Anthropic-style cache counters, when translated. */
  cache_creation_input_tokens?: number;
}

interface ToolCallParts {
  id?: string;
  type: string;
  function: { name: string; arguments: string };
}

interface ChoiceParts {
  content: string;
  reasoning: string;
  refusal: string;
  role: string;
  toolCalls: ToolCallParts[];
  finishReason: string | null;
}

/**
 * Choices and tool calls at this index or beyond are not assembled (they are
 * still relayed): no chunk makes the accumulator allocate or walk a huge array.
 */
export const MAX_ASSEMBLED_INDEX = 1024;

type Json = Record<string, unknown>;

/** Whether a JSON value is an object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A chunk's `index`, `fallback` when it has none; undefined when it is out of range. */
function indexOf(value: unknown, fallback: number): number | undefined {
  const index = typeof value === "number" ? value : fallback;
  return Number.isInteger(index) && index >= 0 && index < MAX_ASSEMBLED_INDEX ? index : undefined;
}

function count(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** The token counts of a `usage` value, each a finite count or absent; undefined when it is not an object. */
function usageOf(value: unknown): Usage | undefined {
  if (!isRecord(value)) return undefined;
  const usage: Usage = {};
  const prompt = count(value.prompt_tokens);
  const completion = count(value.completion_tokens);
  const total = count(value.total_tokens);
  const cacheCreation = count(value.cache_creation_input_tokens);
  const details = value.prompt_tokens_details;
  const cached = isRecord(details) ? count(details.cached_tokens) : undefined;
  if (prompt !== undefined) usage.prompt_tokens = prompt;
  if (completion !== undefined) usage.completion_tokens = completion;
  if (total !== undefined) usage.total_tokens = total;
  if (cached !== undefined) usage.prompt_tokens_details = { cached_tokens: cached };
  if (cacheCreation !== undefined) usage.cache_creation_input_tokens = cacheCreation;
  return usage;
}

/**
 * Collects chat or completion chunks into one response. Any value may be
 * added: parts of a chunk that do not have the expected shape are skipped,
 * never thrown on.
 */
export class StreamAccumulator {
  /** Upstream response id. */
  id?: string;
  /** Upstream model. */
  model?: string;
  /** Usage, from the final usage chunk (its token counts only). */
  usage?: Usage;
  /** Epoch ms of the first chunk carrying content. */
  firstTokenAt?: number;
  /** Number of chunks seen. */
  chunks = 0;
  #choices: ChoiceParts[] = [];

  /** Adds one parsed chunk (any JSON value). */
  add(chunk: unknown): void {
    this.chunks++;
    if (!isRecord(chunk)) return;
    if (typeof chunk.id === "string") this.id ??= chunk.id;
    if (typeof chunk.model === "string") this.model ??= chunk.model;
    const usage = usageOf(chunk.usage);
    if (usage) this.usage = usage;
    if (!Array.isArray(chunk.choices)) return;
    for (const choice of chunk.choices) if (isRecord(choice)) this.#addChoice(choice);
  }

  #addChoice(choice: Json): void {
    const index = indexOf(choice.index, 0);
    if (index === undefined) return;
    const parts = this.#choices[index] ??= {
      content: "",
      reasoning: "",
      refusal: "",
      role: "assistant",
      toolCalls: [],
      finishReason: null,
    };
    if (typeof choice.finish_reason === "string") parts.finishReason = choice.finish_reason;
    if (typeof choice.text === "string") {
      this.#mark(choice.text);
      parts.content += choice.text;
    }
    if (isRecord(choice.delta)) this.#addDelta(parts, choice.delta);
  }

  #addDelta(parts: ChoiceParts, delta: Json): void {
    if (typeof delta.role === "string") parts.role = delta.role;
    if (typeof delta.content === "string") {
      this.#mark(delta.content);
      parts.content += delta.content;
    }
    const reasoning = delta.reasoning_content ?? delta.reasoning;
    if (typeof reasoning === "string") {
      this.#mark(reasoning);
      parts.reasoning += reasoning;
    }
    if (typeof delta.refusal === "string") parts.refusal += delta.refusal;
    if (!Array.isArray(delta.tool_calls)) return;
    this.#mark("tool");
    for (const call of delta.tool_calls) if (isRecord(call)) addToolCall(parts.toolCalls, call);
  }

  #mark(text: string): void {
    if (text && this.firstTokenAt === undefined) this.firstTokenAt = Date.now();
  }

  /** The finish reason of the first choice. */
  get finishReason(): string | null {
    return this.#choices[0]?.finishReason ?? null;
  }

  /**
   * Whether the stream reached a natural end: at least one choice, and every
   * choice seen has a finish reason.
   */
  allFinished(): boolean {
    const seen = this.#choices.filter(Boolean);
    return seen.length > 0 && seen.every((c) => c.finishReason !== null);
  }

  /** The finish reason of each choice that reported one, in choice order. */
  finishReasons(): string[] {
    return this.#choices.flatMap((c) => (c?.finishReason ? [c.finishReason] : []));
  }

  /** The assembled assistant message (chat) of each choice. */
  messages(): ChatMessage[] {
    return this.#choices.filter(Boolean).map((c) => {
      const message: ChatMessage = { role: c.role, content: c.content || null };
      if (c.reasoning) message.reasoning_content = c.reasoning;
      if (c.refusal) message.refusal = c.refusal;
      if (c.toolCalls.length) message.tool_calls = c.toolCalls.filter(Boolean);
      return message;
    });
  }

  /** The assembled texts (legacy completions) of each choice. */
  texts(): string[] {
    return this.#choices.filter(Boolean).map((c) => c.content);
  }
}

/** Merges one streamed tool-call fragment into the calls assembled so far. */
function addToolCall(calls: ToolCallParts[], call: Json): void {
  const i = indexOf(call.index, calls.length);
  if (i === undefined) return;
  const target = calls[i] ??= { type: "function", function: { name: "", arguments: "" } };
  if (typeof call.id === "string") target.id = call.id;
  const fn = call.function;
  if (!isRecord(fn)) return;
  if (typeof fn.name === "string") target.function.name += fn.name;
  if (typeof fn.arguments === "string") target.function.arguments += fn.arguments;
}
