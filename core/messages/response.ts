/**
 * A Chat Completions answer as an Anthropic Messages API `message`, and a
 * Chat Completions stream as Anthropic's stream events (`message_start`,
 * `content_block_start` / `_delta` / `_stop`, `message_delta`,
 * `message_stop`), emitted as the chat chunks arrive. Only the first
 * choice is translated (the Messages API has no `n`).
 * @module
 */
import type { Usage } from "../stream/accumulator.ts";
import { firstChoice } from "../stream/first_choice.ts";
import type { ChunkTranslator } from "../stream/relay.ts";

type Obj = Record<string, unknown>;

const isObj = (value: unknown): value is Obj =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Chat `finish_reason` → Anthropic `stop_reason`. */
export function stopReasonOf(finish: unknown): string {
  switch (finish) {
    case "length":
      return "max_tokens";
    case "tool_calls":
    case "function_call":
      return "tool_use";
    case "content_filter":
      return "refusal";
    default:
      return "end_turn";
  }
}

/** Anthropic usage from chat usage (cached tokens are read from the cache, not input). */
export function anthropicUsage(usage: Usage | undefined): Obj {
  const cached = usage?.prompt_tokens_details?.cached_tokens ?? 0;
  const created = usage?.cache_creation_input_tokens ?? 0;
  return {
    input_tokens: Math.max(0, (usage?.prompt_tokens ?? 0) - cached - created),
    output_tokens: usage?.completion_tokens ?? 0,
    cache_read_input_tokens: cached,
    cache_creation_input_tokens: created,
  };
}

function parsedInput(args: unknown): unknown {
  try {
    const value = JSON.parse(typeof args === "string" && args ? args : "{}");
    return isObj(value) ? value : { value };
  } catch {
    return {};
  }
}

/** A non-streamed chat completion (its first choice) as an Anthropic message with id `id`. */
export function messageOfChat(chat: Obj, id: string, model: string): Obj {
  const choice = Array.isArray(chat.choices) && isObj(chat.choices[0]) ? chat.choices[0] : {};
  const message = isObj(choice.message) ? choice.message : {};
  const content: Obj[] = [];
  if (typeof message.reasoning_content === "string" && message.reasoning_content) {
    content.push({ type: "thinking", thinking: message.reasoning_content, signature: "" });
  }
  const text = typeof message.content === "string" ? message.content : message.refusal;
  if (typeof text === "string" && text) content.push({ type: "text", text });
  for (const call of Array.isArray(message.tool_calls) ? message.tool_calls : []) {
    if (!isObj(call)) continue;
    const fn = isObj(call.function) ? call.function : {};
    content.push({
      type: "tool_use",
      id: call.id,
      name: fn.name,
      input: parsedInput(fn.arguments),
    });
  }
  return {
    id,
    type: "message",
    role: "assistant",
    model,
    content,
    stop_reason: stopReasonOf(choice.finish_reason),
    stop_sequence: null,
    usage: anthropicUsage(isObj(chat.usage) ? chat.usage as Usage : undefined),
  };
}

type Block = { kind: "thinking" | "text" } | { kind: "tool"; chatIndex: number };

/** A tool call held back while another block streams: emitted whole at the end. */
interface HeldCall {
  id: string;
  name: string;
  arguments: string;
}

/**
 * Translates one call's chat chunks into Anthropic stream events. Anthropic
 * content blocks are strictly sequential (one open block at a time), so of
 * parallel tool calls whose deltas interleave the first streams live and the
 * others are held (id, name, arguments) and emitted whole, in order, at
 * {@link MessagesStream.end}.
 */
export class MessagesStream implements ChunkTranslator {
  readonly #id: string;
  readonly #model: string;
  #index = -1;
  #open?: Block;
  /** Chat indices of the tool calls streamed live. */
  readonly #streamed = new Set<number>();
  /** Tool calls held back, by chat index, in order of appearance. */
  readonly #held = new Map<number, HeldCall>();
  #finish?: unknown;
  #usage?: Usage;
  #started = false;

  /** A translator for the message `id` of `model` (as the client named it). */
  constructor(id: string, model: string) {
    this.#id = id;
    this.#model = model;
  }

  #event(type: string, fields: Obj): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, ...fields })}\n\n`;
  }

  #start(): string {
    this.#started = true;
    const message = {
      id: this.#id,
      type: "message",
      role: "assistant",
      model: this.#model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 0, output_tokens: 0 },
    };
    return this.#event("message_start", { message }) + this.#event("ping", {});
  }

  #openBlock(block: Block, contentBlock: Obj): string {
    const out = this.#close();
    this.#index++;
    this.#open = block;
    return out + this.#event("content_block_start", {
      index: this.#index,
      content_block: contentBlock,
    });
  }

  #close(): string {
    if (!this.#open) return "";
    this.#open = undefined;
    return this.#event("content_block_stop", { index: this.#index });
  }

  #delta(delta: Obj): string {
    return this.#event("content_block_delta", { index: this.#index, delta });
  }

  /** The SSE text for one chat chunk. */
  chunk(chunk: unknown): string {
    let out = this.#started ? "" : this.#start();
    if (!isObj(chunk)) return out;
    if (isObj(chunk.usage)) this.#usage = chunk.usage as Usage;
    const choice = firstChoice(chunk);
    if (!choice) return out;
    const { delta } = choice;
    if (typeof delta.reasoning_content === "string" && delta.reasoning_content) {
      if (this.#open?.kind !== "thinking") {
        out += this.#openBlock({ kind: "thinking" }, {
          type: "thinking",
          thinking: "",
          signature: "",
        });
      }
      out += this.#delta({ type: "thinking_delta", thinking: delta.reasoning_content });
    }
    const text = typeof delta.content === "string" ? delta.content : delta.refusal;
    if (typeof text === "string" && text) {
      if (this.#open?.kind !== "text") {
        out += this.#openBlock({ kind: "text" }, { type: "text", text: "" });
      }
      out += this.#delta({ type: "text_delta", text });
    }
    for (const call of Array.isArray(delta.tool_calls) ? delta.tool_calls : []) {
      if (isObj(call)) out += this.#toolCall(call);
    }
    if (choice.finishReason) this.#finish = choice.finishReason;
    return out;
  }

  /**
   * One tool-call delta: streamed into the open `tool_use` block if it is
   * that call's; a new call opens a block unless another tool call is open
   * or held (then it is held too, keeping the calls in order).
   */
  #toolCall(call: Obj): string {
    const chatIndex = typeof call.index === "number" ? call.index : 0;
    const fn = isObj(call.function) ? call.function : {};
    const args = typeof fn.arguments === "string" ? fn.arguments : "";
    const open = this.#open;
    let out = "";
    if (open?.kind !== "tool" || open.chatIndex !== chatIndex) {
      const held = this.#held.get(chatIndex);
      if (held) {
        held.id ||= typeof call.id === "string" ? call.id : "";
        held.name ||= typeof fn.name === "string" ? fn.name : "";
        held.arguments += args;
        return "";
      }
      // A live call's block was closed by text or thinking: it cannot be reopened.
      if (this.#streamed.has(chatIndex)) return "";
      if (open?.kind === "tool" || this.#held.size > 0) {
        this.#held.set(chatIndex, {
          id: String(call.id ?? ""),
          name: String(fn.name ?? ""),
          arguments: args,
        });
        return "";
      }
      this.#streamed.add(chatIndex);
      out += this.#openBlock({ kind: "tool", chatIndex }, {
        type: "tool_use",
        id: call.id ?? "",
        name: fn.name ?? "",
        input: {},
      });
    }
    if (args) out += this.#delta({ type: "input_json_delta", partial_json: args });
    return out;
  }

  /**
   * The closing events: the open block's stop, each held tool call as a
   * block of its own, `message_delta`, `message_stop`.
   */
  end(): string {
    let out = this.#started ? "" : this.#start();
    for (const [chatIndex, held] of this.#held) {
      out += this.#openBlock({ kind: "tool", chatIndex }, {
        type: "tool_use",
        id: held.id,
        name: held.name,
        input: {},
      });
      if (held.arguments) {
        out += this.#delta({ type: "input_json_delta", partial_json: held.arguments });
      }
    }
    this.#held.clear();
    out += this.#close();
    out += this.#event("message_delta", {
      delta: { stop_reason: stopReasonOf(this.#finish), stop_sequence: null },
      usage: anthropicUsage(this.#usage),
    });
    return out + this.#event("message_stop", {});
  }

  /** The last event of a failed stream, in Anthropic's error shape. */
  fail(error: Record<string, unknown>): string {
    const message = typeof error.message === "string" ? error.message : "the upstream failed";
    return this.#event("error", { error: { type: "api_error", message } });
  }
}
