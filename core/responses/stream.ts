/**
 * A Chat Completions stream as an OpenAI Responses API stream: typed SSE
 * events (`response.created`, `response.output_item.added`,
 * `response.output_text.delta`, `response.function_call_arguments.delta`,
 * …, `response.completed`) numbered by `sequence_number`, emitted as the
 * chat chunks arrive. Only the first choice is translated (the Responses
 * API has no `n`).
 * @module
 */
import type { Usage } from "../stream/accumulator.ts";
import { firstChoice } from "../stream/first_choice.ts";
import type { ChunkTranslator } from "../stream/relay.ts";
import {
  type AssembledTurn,
  buildResponse,
  functionCallItem,
  itemId,
  messageItem,
  reasoningItem,
  type ResponseFrame,
} from "./response.ts";

type Obj = Record<string, unknown>;

const isObj = (value: unknown): value is Obj =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The item being streamed: its output index and, for a tool call, its index in the turn. */
type OpenItem =
  | { kind: "reasoning"; outputIndex: number }
  | { kind: "message"; outputIndex: number }
  | { kind: "tool"; outputIndex: number; call: number };

/** Translates one call's chat chunks into Responses events. */
export class ResponsesStream implements ChunkTranslator {
  readonly #frame: ResponseFrame;
  readonly #turn: AssembledTurn = { toolCalls: [] };
  /** Finished output items, in stream order (the final response's `output`). */
  readonly #items: Obj[] = [];
  /** Chat tool-call index → index in the turn. */
  readonly #toolIndex = new Map<number, number>();
  #open?: OpenItem;
  #sequence = 0;
  #started = false;

  /** A translator for the response `frame` describes. */
  constructor(frame: ResponseFrame) {
    this.#frame = frame;
  }

  #event(type: string, fields: Obj): string {
    const data = JSON.stringify({ type, sequence_number: this.#sequence++, ...fields });
    return `event: ${type}\ndata: ${data}\n\n`;
  }

  #start(): string {
    this.#started = true;
    const response = buildResponse(this.#frame, undefined, "in_progress");
    return this.#event("response.created", { response }) +
      this.#event("response.in_progress", { response });
  }

  /** The SSE text for one chat chunk. */
  chunk(chunk: unknown): string {
    let out = this.#started ? "" : this.#start();
    if (!isObj(chunk)) return out;
    if (isObj(chunk.usage)) this.#turn.usage = chunk.usage as Usage;
    if (typeof chunk.model === "string") this.#turn.model = chunk.model;
    const choice = firstChoice(chunk);
    if (!choice) return out;
    const { delta } = choice;
    if (typeof delta.reasoning_content === "string" && delta.reasoning_content) {
      out += this.#reasoning(delta.reasoning_content);
    }
    const text = typeof delta.content === "string"
      ? delta.content
      : typeof delta.refusal === "string"
      ? delta.refusal
      : "";
    if (text) out += this.#text(text);
    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls) if (isObj(call)) out += this.#toolCall(call);
    }
    if (choice.finishReason) this.#turn.finishReason = choice.finishReason;
    return out;
  }

  #reasoning(delta: string): string {
    let out = "";
    if (this.#open?.kind !== "reasoning") {
      out += this.#close();
      const outputIndex = this.#items.length;
      this.#open = { kind: "reasoning", outputIndex };
      this.#turn.reasoning = "";
      out += this.#event("response.output_item.added", {
        output_index: outputIndex,
        item: reasoningItem(this.#frame, ""),
      });
      out += this.#event("response.reasoning_summary_part.added", {
        item_id: itemId(this.#frame, "rs"),
        output_index: outputIndex,
        summary_index: 0,
        part: { type: "summary_text", text: "" },
      });
    }
    this.#turn.reasoning += delta;
    return out + this.#event("response.reasoning_summary_text.delta", {
      item_id: itemId(this.#frame, "rs"),
      output_index: this.#open?.outputIndex ?? 0,
      summary_index: 0,
      delta,
    });
  }

  #openMessage(): string {
    const out = this.#close();
    const outputIndex = this.#items.length;
    this.#open = { kind: "message", outputIndex };
    this.#turn.text = "";
    return out +
      this.#event("response.output_item.added", {
        output_index: outputIndex,
        item: messageItem(this.#frame, "", "in_progress"),
      }) +
      this.#event("response.content_part.added", {
        item_id: itemId(this.#frame, "msg"),
        output_index: outputIndex,
        content_index: 0,
        part: { type: "output_text", text: "", annotations: [], logprobs: [] },
      });
  }

  #text(delta: string): string {
    const out = this.#open?.kind === "message" ? "" : this.#openMessage();
    this.#turn.text += delta;
    return out + this.#event("response.output_text.delta", {
      item_id: itemId(this.#frame, "msg"),
      output_index: this.#open?.outputIndex ?? 0,
      content_index: 0,
      delta,
      logprobs: [],
    });
  }

  #toolCall(delta: Obj): string {
    let out = "";
    const chatIndex = typeof delta.index === "number" ? delta.index : 0;
    const fn = isObj(delta.function) ? delta.function : {};
    let call = this.#toolIndex.get(chatIndex);
    if (call === undefined) {
      out += this.#close();
      call = this.#turn.toolCalls.length;
      this.#toolIndex.set(chatIndex, call);
      this.#turn.toolCalls.push({
        id: String(delta.id ?? ""),
        name: String(fn.name ?? ""),
        arguments: "",
      });
      const outputIndex = this.#items.length;
      this.#open = { kind: "tool", outputIndex, call };
      out += this.#event("response.output_item.added", {
        output_index: outputIndex,
        item: functionCallItem(this.#frame, this.#turn.toolCalls[call], call, "in_progress"),
      });
    }
    const args = typeof fn.arguments === "string" ? fn.arguments : "";
    if (!args) return out;
    this.#turn.toolCalls[call].arguments += args;
    const open = this.#open;
    return out + this.#event("response.function_call_arguments.delta", {
      item_id: itemId(this.#frame, "fc", call),
      output_index: open?.kind === "tool" && open.call === call ? open.outputIndex : 0,
      delta: args,
    });
  }

  /** Ends the item being streamed: its `.done` events. */
  #close(): string {
    const open = this.#open;
    if (!open) return "";
    this.#open = undefined;
    const at = { output_index: open.outputIndex };
    let item: Obj;
    let out = "";
    if (open.kind === "reasoning") {
      const text = this.#turn.reasoning ?? "";
      const id = { item_id: itemId(this.#frame, "rs"), ...at, summary_index: 0 };
      out += this.#event("response.reasoning_summary_text.done", { ...id, text });
      out += this.#event("response.reasoning_summary_part.done", {
        ...id,
        part: { type: "summary_text", text },
      });
      item = reasoningItem(this.#frame, text);
    } else if (open.kind === "message") {
      const text = this.#turn.text ?? "";
      const id = { item_id: itemId(this.#frame, "msg"), ...at, content_index: 0 };
      out += this.#event("response.output_text.done", { ...id, text, logprobs: [] });
      out += this.#event("response.content_part.done", {
        ...id,
        part: { type: "output_text", text, annotations: [], logprobs: [] },
      });
      item = messageItem(this.#frame, text);
    } else {
      const call = this.#turn.toolCalls[open.call];
      out += this.#event("response.function_call_arguments.done", {
        item_id: itemId(this.#frame, "fc", open.call),
        ...at,
        arguments: call.arguments,
      });
      item = functionCallItem(this.#frame, call, open.call);
    }
    this.#items.push(item);
    return out + this.#event("response.output_item.done", { ...at, item });
  }

  /** The closing events: the open item's `.done`, then `response.completed` (or `.incomplete`). */
  end(): string {
    let out = this.#started ? "" : this.#start();
    // Nothing streamed: an empty message, so the output is never empty.
    if (this.#items.length === 0 && !this.#open) out += this.#openMessage();
    out += this.#close();
    const response: Obj = { ...buildResponse(this.#frame, this.#turn), output: this.#items };
    const type = response.status === "incomplete" ? "response.incomplete" : "response.completed";
    return out + this.#event(type, { response });
  }

  /** The last event of a failed stream. */
  fail(error: Record<string, unknown>): string {
    return this.#event("error", {
      code: typeof error.code === "string" ? error.code : "upstream_error",
      message: typeof error.message === "string" ? error.message : "the upstream failed",
      param: null,
    });
  }

  /** What the stream assembled (for the log). */
  get turn(): AssembledTurn {
    return this.#turn;
  }
}
