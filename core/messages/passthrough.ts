/**
 * A Messages API stream from an Anthropic upstream, relayed event by event
 * as it was sent, and assembled on the way into the message it describes
 * (for the log): `message_start` gives the id, model and input usage, the
 * content blocks fill in, `message_delta` the stop reason and output usage.
 * The stream is complete once `message_stop` has passed.
 * @module
 */
import type { ChunkTranslator } from "../stream/relay.ts";

type Obj = Record<string, unknown>;

const isObj = (value: unknown): value is Obj =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Content blocks a message may have before the rest is ignored. */
const MAX_BLOCKS = 1024;

/** Copies an upstream object's own fields (never `__proto__`) into `target`. */
function copyInto(target: Obj, source: Obj): void {
  for (const key of Object.keys(source)) if (key !== "__proto__") target[key] = source[key];
}

/** Relays a native Anthropic stream unchanged and assembles its message. */
export class MessagesPassThrough implements ChunkTranslator {
  /** The message so far (`content` blocks as they completed). */
  readonly message: Obj = { content: [] };
  /** When the first content delta passed (epoch ms). */
  firstTokenAt?: number;
  /** The upstream's own `error` event's error, if it sent one. */
  error?: Obj;
  readonly #json = new Map<number, string>();
  #stopped = false;

  /** The event again, as the upstream named it. */
  chunk(chunk: unknown): string {
    if (!isObj(chunk)) return "";
    const type = typeof chunk.type === "string" ? chunk.type : "message";
    this.#observe(type, chunk);
    return `event: ${type}\ndata: ${JSON.stringify(chunk)}\n\n`;
  }

  #observe(type: string, event: Obj): void {
    const content = this.message.content as Obj[];
    const index = typeof event.index === "number" ? event.index : 0;
    if (index < 0 || index >= MAX_BLOCKS) return; // a lying upstream cannot grow a sparse array
    if (type === "message_start" && isObj(event.message)) {
      copyInto(this.message, event.message);
      this.message.content = [];
    } else if (type === "content_block_start" && isObj(event.content_block)) {
      content[index] = { ...event.content_block };
    } else if (type === "content_block_delta" && isObj(event.delta)) {
      this.firstTokenAt ??= Date.now();
      const block = content[index] ?? (content[index] = {});
      const delta = event.delta;
      if (delta.type === "text_delta") block.text = `${block.text ?? ""}${delta.text ?? ""}`;
      if (delta.type === "thinking_delta") {
        block.thinking = `${block.thinking ?? ""}${delta.thinking ?? ""}`;
      }
      if (delta.type === "input_json_delta") {
        this.#json.set(index, (this.#json.get(index) ?? "") + String(delta.partial_json ?? ""));
      }
    } else if (type === "content_block_stop") {
      const json = this.#json.get(index);
      if (json !== undefined && content[index]) {
        try {
          content[index].input = JSON.parse(json || "{}");
        } catch {
          content[index].input = {};
        }
      }
    } else if (type === "message_delta") {
      if (isObj(event.delta)) copyInto(this.message, event.delta);
      if (isObj(event.usage)) {
        const usage: Obj = isObj(this.message.usage) ? this.message.usage : {};
        copyInto(usage, event.usage);
        this.message.usage = usage;
      }
    } else if (type === "message_stop") {
      this.#stopped = true;
    } else if (type === "error") {
      this.error = isObj(event.error) ? event.error : { message: String(event.error) };
      this.#stopped = true; // the upstream ended the stream with its error
    }
  }

  /** Complete once `message_stop` passed. */
  complete(): boolean {
    return this.#stopped;
  }

  /** Nothing to add: the upstream's `message_stop` ended the stream. */
  end(): string {
    return "";
  }

  /** An Anthropic `error` event. */
  fail(error: Record<string, unknown>): string {
    const message = typeof error.message === "string" ? error.message : "the upstream failed";
    const data = { type: "error", error: { type: "api_error", message } };
    return `event: error\ndata: ${JSON.stringify(data)}\n\n`;
  }
}
