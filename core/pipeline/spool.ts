/**
 * A durable, append-only event spool: NDJSON segment files under one
 * directory, fsynced on every append, read back oldest first. A cursor file
 * records how far the oldest segment has been delivered, so a restart
 * replays at most the last unconfirmed batch (at-least-once).
 * @module
 */
import type { LogEvent } from "../event/log_event.ts";

/** Segments rotate past this size. */
const SEGMENT_BYTES = 4 * 1024 * 1024;
const SEGMENT = /^(\d{12})\.ndjson$/;
const encoder = new TextEncoder();

interface Segment {
  seq: number;
  bytes: number;
  events: number;
}

/** A batch read from the spool; `commit()` marks it delivered. */
export interface SpoolBatch {
  /** The events, oldest first. */
  events: LogEvent[];
  /** Removes the batch from the spool (durably). */
  commit(): Promise<void>;
}

/** A per-sink spool directory. */
export class Spool {
  readonly #dir: string;
  readonly #maxBytes: number;
  #segments: Segment[] = [];
  /** Lines of the head segment not yet committed, parsed lazily. */
  #head?: { seq: number; lines: string[]; offset: number };
  #writer?: { seq: number; file: Deno.FsFile };
  #bytes = 0;
  #events = 0;
  #tail: Promise<unknown> = Promise.resolve();

  private constructor(dir: string, maxBytes: number) {
    this.#dir = dir;
    this.#maxBytes = maxBytes;
  }

  /** Opens (or creates) a spool directory, picking up segments left by an earlier run. */
  static async open(dir: string, maxBytes: number): Promise<Spool> {
    await Deno.mkdir(dir, { recursive: true });
    const spool = new Spool(dir, maxBytes);
    const seqs: number[] = [];
    for await (const entry of Deno.readDir(dir)) {
      const m = SEGMENT.exec(entry.name);
      if (m && entry.isFile) seqs.push(Number(m[1]));
    }
    seqs.sort((a, b) => a - b);
    const cursor = await spool.#readCursor();
    for (const seq of seqs) {
      const text = await Deno.readTextFile(spool.#path(seq));
      const lines = text.split("\n").filter((l) => l.length > 0);
      let offset = 0;
      if (cursor && cursor.seq === seq) offset = Math.min(cursor.offset, lines.length);
      if (cursor && seq < cursor.seq) offset = lines.length; // fully delivered, not yet removed
      const remaining = lines.length - offset;
      if (remaining <= 0) {
        await Deno.remove(spool.#path(seq)).catch(() => {});
        continue;
      }
      const bytes = encoder.encode(text).byteLength;
      spool.#segments.push({ seq, bytes, events: remaining });
      spool.#bytes += bytes;
      spool.#events += remaining;
      if (offset > 0 && !spool.#head) spool.#head = { seq, lines, offset };
    }
    return spool;
  }

  /** Events waiting in the spool. */
  get size(): number {
    return this.#events;
  }

  /** Bytes on disk. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Appends events durably (fsync). Returns how many were written; the rest
   * did not fit under the spool's byte limit and were not written.
   */
  append(events: readonly LogEvent[]): Promise<number> {
    return this.#serial(async () => {
      let written = 0;
      const lines: string[] = [];
      let size = 0;
      for (const event of events) {
        const line = JSON.stringify(event) + "\n";
        const bytes = encoder.encode(line).byteLength;
        if (this.#bytes + size + bytes > this.#maxBytes) break;
        lines.push(line);
        size += bytes;
        written++;
      }
      if (written === 0) return 0;
      const writer = await this.#writerFor(size);
      const data = encoder.encode(lines.join(""));
      for (let n = 0; n < data.length;) n += await writer.file.write(data.subarray(n));
      await writer.file.sync();
      const segment = this.#segments[this.#segments.length - 1];
      segment.bytes += data.byteLength;
      segment.events += written;
      this.#bytes += data.byteLength;
      this.#events += written;
      return written;
    });
  }

  /** Reads up to `max` of the oldest events; nothing is removed until `commit()`. */
  read(max: number): Promise<SpoolBatch | undefined> {
    return this.#serial(async () => {
      if (this.#segments.length === 0) return undefined;
      const first = this.#segments[0];
      if (this.#writer?.seq === first.seq) this.#closeWriter(); // never read a segment still being written
      if (this.#head?.seq !== first.seq) {
        const text = await Deno.readTextFile(this.#path(first.seq));
        this.#head = {
          seq: first.seq,
          lines: text.split("\n").filter((l) => l.length > 0),
          offset: 0,
        };
      }
      const head = this.#head;
      const slice = head.lines.slice(head.offset, head.offset + max);
      const events: LogEvent[] = [];
      for (const line of slice) {
        try {
          events.push(JSON.parse(line));
        } catch {
          // A torn last line from a crash mid-write: skip it.
        }
      }
      const end = head.offset + slice.length;
      return { events, commit: () => this.#commit(first.seq, end, slice.length) };
    });
  }

  #commit(seq: number, end: number, count: number): Promise<void> {
    return this.#serial(async () => {
      const head = this.#head;
      if (!head || head.seq !== seq) return;
      head.offset = end;
      const segment = this.#segments[0];
      segment.events -= count;
      this.#events -= count;
      if (head.offset >= head.lines.length) {
        this.#segments.shift();
        this.#bytes -= segment.bytes;
        this.#head = undefined;
        await Deno.remove(this.#path(seq)).catch(() => {});
        await this.#writeCursor({ seq: seq + 1, offset: 0 });
      } else {
        await this.#writeCursor({ seq, offset: head.offset });
      }
    });
  }

  /** Closes the open segment. */
  close(): Promise<void> {
    return this.#serial(() => {
      this.#closeWriter();
      return Promise.resolve();
    });
  }

  async #writerFor(size: number): Promise<{ seq: number; file: Deno.FsFile }> {
    const last = this.#segments[this.#segments.length - 1];
    if (this.#writer && last?.seq === this.#writer.seq && last.bytes + size <= SEGMENT_BYTES) {
      return this.#writer;
    }
    this.#closeWriter();
    const seq = (last?.seq ?? (await this.#readCursor())?.seq ?? 0) + 1;
    const file = await Deno.open(this.#path(seq), { create: true, append: true });
    this.#segments.push({ seq, bytes: 0, events: 0 });
    this.#writer = { seq, file };
    return this.#writer;
  }

  #closeWriter(): void {
    this.#writer?.file.close();
    this.#writer = undefined;
  }

  #path(seq: number): string {
    return `${this.#dir}/${String(seq).padStart(12, "0")}.ndjson`;
  }

  async #readCursor(): Promise<{ seq: number; offset: number } | undefined> {
    try {
      const value = JSON.parse(await Deno.readTextFile(`${this.#dir}/cursor.json`));
      return typeof value?.seq === "number" && typeof value?.offset === "number"
        ? value
        : undefined;
    } catch {
      return undefined;
    }
  }

  async #writeCursor(cursor: { seq: number; offset: number }): Promise<void> {
    const tmp = `${this.#dir}/cursor.json.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify(cursor));
    await Deno.rename(tmp, `${this.#dir}/cursor.json`);
  }

  /** Runs file operations one at a time, in call order. */
  #serial<T>(op: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(op, op);
    this.#tail = next.catch(() => {});
    return next;
  }
}
