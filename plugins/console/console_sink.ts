/**
 * The console sink: writes one line per event to a writable.
 * @module
 */
import type { Sink } from "@sluice/core/plugin";
import { formatConsoleLine } from "./console_line.ts";

/** Where the console sink writes: `Deno.stdout`, `Deno.stderr`, or any writer (tests). */
export interface ConsoleOutput {
  /** Writes some of `p`; resolves with the number of bytes written. */
  write(p: Uint8Array): Promise<number>;
}

/**
 * Creates a console sink writing to `out`: each batch becomes one write of
 * its lines ({@link formatConsoleLine}), finished before `log` resolves.
 * Concurrent batches are written one after the other, never interleaved.
 *
 * @param out The writer (default `Deno.stdout`).
 * @returns The sink.
 *
 * @example Capture the lines in a test
 * ```ts
 * import { createConsoleSink } from "@sluice/console";
 * import { sampleEvents } from "@sluice/core/testing";
 *
 * const chunks: Uint8Array[] = [];
 * const sink = createConsoleSink({
 *   write: (p) => Promise.resolve(chunks.push(p.slice()) && p.length),
 * });
 * await sink.log(sampleEvents(2));
 * const text = new TextDecoder().decode(chunks[0]); // two lines
 * ```
 */
export function createConsoleSink(out: ConsoleOutput = Deno.stdout): Sink {
  const encoder = new TextEncoder();
  let tail: Promise<void> = Promise.resolve();

  async function writeAll(bytes: Uint8Array): Promise<void> {
    for (let n = 0; n < bytes.length;) n += await out.write(bytes.subarray(n));
  }

  return {
    log(events) {
      if (events.length === 0) return;
      const bytes = encoder.encode(events.map(formatConsoleLine).join("\n") + "\n");
      const write = tail.then(() => writeAll(bytes));
      tail = write.catch(() => {});
      return write;
    },
    flush() {
      return tail;
    },
  };
}
