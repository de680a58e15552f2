/**
 * A Responses API stream from an upstream that speaks it (OpenAI, Azure),
 * relayed event by event as the upstream sent it, watched on the way for
 * the log: the first output delta (time to first token) and the final
 * `response` of the terminal event. The stream is complete once a terminal
 * event (`response.completed`, `.incomplete` or `.failed`) has passed.
 * @module
 */
import type { ChunkTranslator } from "../stream/relay.ts";

type Obj = Record<string, unknown>;

const isObj = (value: unknown): value is Obj =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const TERMINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);

/** Relays a native Responses stream unchanged and keeps what the log needs. */
export class ResponsesPassThrough implements ChunkTranslator {
  /** The terminal event's `response`, once it passed. */
  final?: Obj;
  /** When the first output delta passed (epoch ms). */
  firstTokenAt?: number;
  #error?: Obj;
  #sequence = -1;

  /** The event again, as the upstream named it. */
  chunk(chunk: unknown): string {
    if (!isObj(chunk)) return "";
    const type = typeof chunk.type === "string" ? chunk.type : "message";
    if (this.firstTokenAt === undefined && /\.delta$/.test(type)) this.firstTokenAt = Date.now();
    if (TERMINAL.has(type) && isObj(chunk.response)) this.final = chunk.response;
    if (type === "error") this.#error = chunk;
    if (typeof chunk.sequence_number === "number") this.#sequence = chunk.sequence_number;
    return `event: ${type}\ndata: ${JSON.stringify(chunk)}\n\n`;
  }

  /** Complete once a terminal event (or the upstream's own `error` event) passed. */
  complete(): boolean {
    return this.final !== undefined || this.#error !== undefined;
  }

  /** The upstream's own `error` event, if it sent one. */
  get error(): Obj | undefined {
    return this.#error;
  }

  /** Nothing to add: the upstream's terminal event ended the stream. */
  end(): string {
    return "";
  }

  /** A Responses `error` event (numbered after the last one the upstream sent). */
  fail(error: Record<string, unknown>): string {
    const data = {
      type: "error",
      sequence_number: this.#sequence + 1,
      code: typeof error.code === "string" ? error.code : "upstream_error",
      message: typeof error.message === "string" ? error.message : "the upstream failed",
      param: null,
    };
    return `event: error\ndata: ${JSON.stringify(data)}\n\n`;
  }
}
