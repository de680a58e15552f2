/**
 * Splits a text stream into Server-Sent Events at their boundaries (a blank
 * line), so each event can be forwarded the moment it is complete.
 * @module
 */
import { StreamFault } from "./fault.ts";

/** One parsed SSE event. */
export interface SseEvent {
  /** The `event:` field, if any. */
  event?: string;
  /** The `data:` lines joined with newlines. */
  data: string;
}

/** The default bound of one event: 16 MiB of text. */
export const DEFAULT_MAX_EVENT_LENGTH = 16 * 1024 * 1024;

/** Options for {@link SseParser}. */
export interface SseParserOptions {
  /**
   * The most text one event may take, in UTF-16 code units (bytes, for ASCII),
   * counted from the end of the previous event to the blank line that ends
   * this one, comments and unknown fields included. Default
   * {@link DEFAULT_MAX_EVENT_LENGTH}.
   */
  maxEventLength?: number;
}

const LF = 10;
const BOM = 0xfeff;

/**
 * Incremental SSE parser: feed text, get complete events. Lines end with
 * CRLF, LF or CR (the SSE spec's three), a blank line ends an event. Work is
 * linear in the input: each character is scanned once, and a line that spans
 * reads is kept in pieces and joined once, when it ends. An event larger than
 * `maxEventLength` throws a {@link StreamFault} (`upstream_event_too_large`).
 */
export class SseParser {
  readonly #max: number;
  /** Pieces of the line not yet ended, one per read. */
  #pieces: string[] = [];
  #piecesLength = 0;
  /** Text of the current event's ended lines (with their line ends). */
  #eventLength = 0;
  #data: string[] | undefined;
  #event: string | undefined;
  /** The last read ended with CR: an LF that starts the next read ends no new line. */
  #afterCr = false;
  #started = false;

  /** Creates a parser; `maxEventLength` bounds one event. */
  constructor(options: SseParserOptions = {}) {
    this.#max = options.maxEventLength ?? DEFAULT_MAX_EVENT_LENGTH;
  }

  /** Adds text and returns the events it completed; throws {@link StreamFault} for an oversized event. */
  push(text: string): SseEvent[] {
    const events: SseEvent[] = [];
    if (text.length === 0) return events;
    let pos = 0;
    if (!this.#started) {
      this.#started = true;
      if (text.charCodeAt(0) === BOM) pos = 1;
    }
    if (this.#afterCr) {
      this.#afterCr = false;
      if (text.charCodeAt(pos) === LF) pos++;
    }
    // The next LF and CR at or after `pos`, each searched again only once passed.
    let lf = text.indexOf("\n", pos);
    let cr = text.indexOf("\r", pos);
    while (lf >= 0 || cr >= 0) {
      const end = cr < 0 || (lf >= 0 && lf < cr) ? lf : cr;
      let next = end + 1;
      if (end === cr) {
        if (next === text.length) this.#afterCr = true;
        else if (text.charCodeAt(next) === LF) next++;
      }
      this.#line(text.slice(pos, end), next - end, events);
      pos = next;
      if (lf >= 0 && lf < pos) lf = text.indexOf("\n", pos);
      if (cr >= 0 && cr < pos) cr = text.indexOf("\r", pos);
    }
    if (pos < text.length) {
      this.#pieces.push(pos === 0 ? text : text.slice(pos));
      this.#piecesLength += text.length - pos;
      this.#bound(0);
    }
    return events;
  }

  /** Ends the input: returns a final event left without a trailing blank line, if any. */
  end(): SseEvent[] {
    const events: SseEvent[] = [];
    if (this.#pieces.length > 0) this.#line("", 0, events);
    this.#dispatch(events);
    this.#afterCr = false;
    return events;
  }

  /** Handles one ended line (`piece` ends it; earlier pieces came in earlier reads). */
  #line(piece: string, ending: number, events: SseEvent[]): void {
    let line = piece;
    if (this.#pieces.length > 0) {
      this.#pieces.push(piece);
      line = this.#pieces.join("");
      this.#pieces = [];
      this.#piecesLength = 0;
    }
    if (line === "") return this.#dispatch(events);
    this.#bound(line.length + ending);
    this.#eventLength += line.length + ending;
    if (line.charCodeAt(0) === 58) return; // ":" starts a comment
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === "data") (this.#data ??= []).push(value);
    else if (field === "event") this.#event = value;
  }

  /** Emits the event collected so far (if it has data) and starts the next. */
  #dispatch(events: SseEvent[]): void {
    if (this.#data !== undefined) events.push({ event: this.#event, data: this.#data.join("\n") });
    this.#data = undefined;
    this.#event = undefined;
    this.#eventLength = 0;
  }

  /** Throws when the current event, with `more` text, exceeds the bound; drops what it held. */
  #bound(more: number): void {
    const length = this.#eventLength + this.#piecesLength + more;
    if (length <= this.#max) return;
    this.#pieces = [];
    this.#piecesLength = 0;
    this.#data = undefined;
    this.#event = undefined;
    this.#eventLength = 0;
    throw new StreamFault(
      "upstream_event_too_large",
      `upstream sent an SSE event larger than ${this.#max} characters`,
    );
  }
}

const encoder = new TextEncoder();

/** One `data:` event (and an optional `event:` name) as SSE text. */
export function sseText(data: string, event?: string): string {
  const lines = data.includes("\n") ? data.split("\n").join("\ndata: ") : data;
  return (event ? `event: ${event}\n` : "") + `data: ${lines}\n\n`;
}

/** Encodes one `data:` event (and an optional `event:` name) as SSE bytes. */
export function encodeSse(data: string, event?: string): Uint8Array {
  return encoder.encode(sseText(data, event));
}
