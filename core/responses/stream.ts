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

/** The reasoning or message item being streamed (one at a time): its index, id and text. */
interface SequentialItem {
  kind: "reasoning" | "message";
  outputIndex: number;
  id: string;
  text: string;
}

/** A tool call's item, open until the end: its output index and its index in the turn. */
interface ToolItem {
  outputIndex: number;
  call: number;
}

/**
 * Translates one call's chat chunks into Responses events. Reasoning and
 * message items are streamed one after the other (opening one closes the
 * other); each tool call gets its own item when it first appears and stays
 * open until {@link ResponsesStream.end}, so parallel calls whose deltas
 * interleave each stream their own arguments.
 */
export class ResponsesStream implements ChunkTranslator {
  readonly #frame: ResponseFrame;
  readonly #turn: AssembledTurn = { toolCalls: [] };
  /** Finished output items with their output index (the final response's `output`, sorted). */
  readonly #items: { outputIndex: number; item: Obj }[] = [];
  /** Chat tool-call index → its open item. */
  readonly #tools = new Map<number, ToolItem>();
  /** How many reasoning / message items were opened (the second one's id ends in `_2`). */
  readonly #opened = { reasoning: 0, message: 0 };
  #open?: SequentialItem;
  #nextIndex = 0;
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

  /** Opens a reasoning or message item (closing the one open): a fresh id and output index. */
  #openSequential(kind: SequentialItem["kind"]): SequentialItem {
    const n = ++this.#opened[kind];
    const id = itemId(this.#frame, kind === "reasoning" ? "rs" : "msg", n > 1 ? n : 0);
    this.#open = { kind, outputIndex: this.#nextIndex++, id, text: "" };
    return this.#open;
  }

  #reasoning(delta: string): string {
    let out = "";
    let open = this.#open;
    if (open?.kind !== "reasoning") {
      out += this.#closeSequential();
      open = this.#openSequential("reasoning");
      out += this.#event("response.output_item.added", {
        output_index: open.outputIndex,
        item: { ...reasoningItem(this.#frame, ""), id: open.id },
      });
      out += this.#event("response.reasoning_summary_part.added", {
        item_id: open.id,
        output_index: open.outputIndex,
        summary_index: 0,
        part: { type: "summary_text", text: "" },
      });
    }
    open.text += delta;
    this.#turn.reasoning = (this.#turn.reasoning ?? "") + delta;
    return out + this.#event("response.reasoning_summary_text.delta", {
      item_id: open.id,
      output_index: open.outputIndex,
      summary_index: 0,
      delta,
    });
  }

  #openMessage(): string {
    const out = this.#closeSequential();
    const open = this.#openSequential("message");
    this.#turn.text ??= "";
    return out +
      this.#event("response.output_item.added", {
        output_index: open.outputIndex,
        item: { ...messageItem(this.#frame, "", "in_progress"), id: open.id },
      }) +
      this.#event("response.content_part.added", {
        item_id: open.id,
        output_index: open.outputIndex,
        content_index: 0,
        part: { type: "output_text", text: "", annotations: [], logprobs: [] },
      });
  }

  #text(delta: string): string {
    const out = this.#open?.kind === "message" ? "" : this.#openMessage();
    const open = this.#open!;
    open.text += delta;
    this.#turn.text = (this.#turn.text ?? "") + delta;
    return out + this.#event("response.output_text.delta", {
      item_id: open.id,
      output_index: open.outputIndex,
      content_index: 0,
      delta,
      logprobs: [],
    });
  }

  #toolCall(delta: Obj): string {
    let out = "";
    const chatIndex = typeof delta.index === "number" ? delta.index : 0;
    const fn = isObj(delta.function) ? delta.function : {};
    let tool = this.#tools.get(chatIndex);
    if (tool === undefined) {
      out += this.#closeSequential();
      const call = this.#turn.toolCalls.length;
      this.#turn.toolCalls.push({
        id: String(delta.id ?? ""),
        name: String(fn.name ?? ""),
        arguments: "",
      });
      tool = { outputIndex: this.#nextIndex++, call };
      this.#tools.set(chatIndex, tool);
      out += this.#event("response.output_item.added", {
        output_index: tool.outputIndex,
        item: functionCallItem(this.#frame, this.#turn.toolCalls[call], call, "in_progress"),
      });
    }
    const args = typeof fn.arguments === "string" ? fn.arguments : "";
    if (!args) return out;
    this.#turn.toolCalls[tool.call].arguments += args;
    return out + this.#event("response.function_call_arguments.delta", {
      item_id: itemId(this.#frame, "fc", tool.call),
      output_index: tool.outputIndex,
      delta: args,
    });
  }

  /** Ends the reasoning or message item being streamed: its `.done` events. */
  #closeSequential(): string {
    const open = this.#open;
    if (!open) return "";
    this.#open = undefined;
    const at = { item_id: open.id, output_index: open.outputIndex };
    const { text } = open;
    let item: Obj;
    let out = "";
    if (open.kind === "reasoning") {
      const id = { ...at, summary_index: 0 };
      out += this.#event("response.reasoning_summary_text.done", { ...id, text });
      out += this.#event("response.reasoning_summary_part.done", {
        ...id,
        part: { type: "summary_text", text },
      });
      item = { ...reasoningItem(this.#frame, text), id: open.id };
    } else {
      const id = { ...at, content_index: 0 };
      out += this.#event("response.output_text.done", { ...id, text, logprobs: [] });
      out += this.#event("response.content_part.done", {
        ...id,
        part: { type: "output_text", text, annotations: [], logprobs: [] },
      });
      item = { ...messageItem(this.#frame, text), id: open.id };
    }
    return out + this.#finish(open.outputIndex, item);
  }

  /** Ends a tool call's item: `function_call_arguments.done`, `output_item.done`. */
  #closeTool(tool: ToolItem): string {
    const call = this.#turn.toolCalls[tool.call];
    const out = this.#event("response.function_call_arguments.done", {
      item_id: itemId(this.#frame, "fc", tool.call),
      output_index: tool.outputIndex,
      arguments: call.arguments,
    });
    return out + this.#finish(tool.outputIndex, functionCallItem(this.#frame, call, tool.call));
  }

  #finish(outputIndex: number, item: Obj): string {
    this.#items.push({ outputIndex, item });
    return this.#event("response.output_item.done", { output_index: outputIndex, item });
  }

  /**
   * The closing events: every open item's `.done` events in output-index
   * order, then `response.completed` (or `.incomplete`) with the output
   * ordered by output index.
   */
  end(): string {
    let out = this.#started ? "" : this.#start();
    // Nothing streamed: an empty message, so the output is never empty.
    if (this.#nextIndex === 0) out += this.#openMessage();
    const open: { outputIndex: number; close: () => string }[] = [...this.#tools.values()].map(
      (tool) => ({ outputIndex: tool.outputIndex, close: () => this.#closeTool(tool) }),
    );
    this.#tools.clear();
    const sequential = this.#open;
    if (sequential) {
      open.push({ outputIndex: sequential.outputIndex, close: () => this.#closeSequential() });
    }
    open.sort((a, b) => a.outputIndex - b.outputIndex);
    for (const item of open) out += item.close();
    const response: Obj = { ...buildResponse(this.#frame, this.#turn), output: this.output };
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

  /** The items finished so far, by output index (after `end()`: the response's `output`). */
  get output(): Obj[] {
    return this.#items.toSorted((a, b) => a.outputIndex - b.outputIndex).map(({ item }) => item);
  }

  /** What the stream assembled (for the log). */
  get turn(): AssembledTurn {
    return this.#turn;
  }
}
