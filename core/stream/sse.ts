/**
 * Splits a text stream into Server-Sent Events at their boundaries (a blank
 * line), so each event can be forwarded the moment it is complete.
 * @module
 */

/** One parsed SSE event. */
export interface SseEvent {
  /** The `event:` field, if any. */
  event?: string;
  /** The `data:` lines joined with newlines. */
  data: string;
}

/** Incremental SSE parser: feed text, get complete events. */
export class SseParser {
  #buffer = "";

  /** Adds text and returns the events it completed. */
  push(text: string): SseEvent[] {
    this.#buffer += text;
    const events: SseEvent[] = [];
    for (;;) {
      const boundary = findBoundary(this.#buffer);
      if (boundary === undefined) break;
      const block = this.#buffer.slice(0, boundary.at);
      this.#buffer = this.#buffer.slice(boundary.at + boundary.length);
      const event = parseBlock(block);
      if (event) events.push(event);
    }
    return events;
  }

  /** Returns a final event left without a trailing blank line, if any. */
  end(): SseEvent[] {
    const rest = this.#buffer;
    this.#buffer = "";
    const event = rest.trim() ? parseBlock(rest) : undefined;
    return event ? [event] : [];
  }
}

function findBoundary(text: string): { at: number; length: number } | undefined {
  const lf = text.indexOf("\n\n");
  const crlf = text.indexOf("\r\n\r\n");
  if (lf < 0 && crlf < 0) return undefined;
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { at: crlf, length: 4 };
  return { at: lf, length: 2 };
}

function parseBlock(block: string): SseEvent | undefined {
  let event: string | undefined;
  let data: string | undefined;
  for (const rawLine of block.split("\n")) {
    const line = rawLine.endsWith("\r") ? rawLine.slice(0, -1) : rawLine;
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") data = data === undefined ? value : data + "\n" + value;
    else if (field === "event") event = value;
  }
  return data === undefined ? undefined : { event, data };
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
