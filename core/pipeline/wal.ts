/**
 * One sink's write-ahead log: every event is appended here before delivery
 * and released (the cursor advanced) only after the sink confirms it.
 *
 * Layout under the sink's directory: NDJSON segment files named by the log
 * sequence number (LSN) of their first line (`0000000000000042.wal`), and a
 * `cursor` file holding the LSN of the first unconfirmed line. Each append
 * is one write plus one fsync (the caller groups events into one append).
 * Lines are counted by their newline: a torn last line (a crash or a full
 * disk mid-write) is not a line and is cut off when the log is opened.
 *
 * A failed write (disk full, I/O error) keeps the lines that reached the
 * file whole, cuts the rest off (or, if even that fails, starts a new
 * segment so the torn bytes are never followed by good lines), and says how
 * many lines were written: the caller keeps the others in memory.
 * @module
 */
import type { LogEvent } from "../event/log_event.ts";

/** Segments rotate past this size. */
const SEGMENT_BYTES = 4 * 1024 * 1024;
/** A fully confirmed open segment at least this large is removed instead of kept open. */
const RECYCLE_BYTES = 256 * 1024;
const SEGMENT = /^(\d{16})\.wal$/;
/** The spool format before the write-ahead log (replayed once, then removed). */
const LEGACY_SEGMENT = /^(\d{12})\.ndjson$/;
const NEWLINE = 10;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Segment {
  /** LSN of the first line. */
  first: number;
  /** Whole lines in the file. */
  lines: number;
  /** Bytes of whole lines in the file. */
  bytes: number;
}

/** What one {@link WriteAheadLog.append} did. */
export interface AppendResult {
  /** LSN of the first written line (the next ones follow). */
  firstLsn: number;
  /** How many of the lines, from the first, are in the log. */
  written: number;
  /** Lines not written because they would pass the byte limit. */
  overLimit: number;
  /** The write or sync failure, if any (the unwritten lines are the caller's). */
  error?: Error;
}

/** A line read back: its LSN and the event, or `undefined` when the line does not parse. */
export interface WalRecord {
  /** The line's sequence number. */
  lsn: number;
  /** The event (undefined: the line is not valid JSON). */
  event?: LogEvent;
}

/** A write-ahead log directory that another open log holds. */
export class WalInUseError extends Error {
  /** Creates the error for the directory `dir`. */
  constructor(dir: string) {
    super(
      `the spool directory ${dir} is in use by another gateway; give each gateway its own server.data_dir`,
    );
    this.name = "WalInUseError";
  }
}

/** A per-sink write-ahead log directory. */
export class WriteAheadLog {
  readonly #dir: string;
  readonly #maxBytes: number;
  #segments: Segment[] = [];
  #writer?: { segment: Segment; file: Deno.FsFile };
  /** The segment whose lines were last read, kept to serve the next read. */
  #readCache?: { first: number; lines: string[] };
  #cursor = 0;
  #next = 0;
  #closed = false;
  #tail: Promise<unknown> = Promise.resolve();
  /** The open `lock` file: held for the log's lifetime, so one gateway owns the directory. */
  readonly #lock: Deno.FsFile;

  private constructor(dir: string, maxBytes: number, lock: Deno.FsFile) {
    this.#dir = dir;
    this.#maxBytes = maxBytes;
    this.#lock = lock;
  }

  /**
   * Opens (or creates) a log directory, keeping what an earlier run left
   * unconfirmed. The directory is locked while the log is open: a second
   * log on it (another gateway with the same `server.data_dir`, in this
   * process or another) is refused with {@link WalInUseError}, since two
   * writers would interleave their segments and release each other's events.
   */
  static async open(dir: string, maxBytes: number): Promise<WriteAheadLog> {
    await Deno.mkdir(dir, { recursive: true });
    const lock = await Deno.open(`${dir}/lock`, { read: true, write: true, create: true });
    if (!(await lock.tryLock(true))) {
      lock.close();
      throw new WalInUseError(dir);
    }
    const wal = new WriteAheadLog(dir, maxBytes, lock);
    try {
      await wal.#load();
      await wal.#importLegacy();
    } catch (error) {
      lock.close();
      throw error;
    }
    return wal;
  }

  /** Lines appended and not yet confirmed. */
  get size(): number {
    return this.#next - this.#cursor;
  }

  /** Bytes of the segments still on disk. */
  get bytes(): number {
    let total = 0;
    for (const s of this.#segments) total += s.bytes;
    return total;
  }

  /** LSN of the first unconfirmed line. */
  get cursor(): number {
    return this.#cursor;
  }

  /** LSN the next appended line gets. */
  get nextLsn(): number {
    return this.#next;
  }

  /**
   * Appends NDJSON lines (each ending in `\n`) with one write and one fsync.
   * Lines that would pass the byte limit are not written (`overLimit`).
   */
  append(lines: readonly string[]): Promise<AppendResult> {
    return this.#serial(() => this.#append(lines));
  }

  /** Reads up to `max` lines from `from` on (never past what was appended). */
  read(from: number, max: number): Promise<WalRecord[]> {
    return this.#serial(() => this.#read(from, max));
  }

  /** Confirms every line before `upTo` (exclusive): they are never replayed again. */
  confirm(upTo: number): Promise<void> {
    return this.#serial(() => this.#confirm(upTo));
  }

  /** Closes the open segment; later calls do nothing. */
  close(): Promise<void> {
    return this.#serial(() => {
      this.#closed = true;
      this.#closeWriter();
      try {
        this.#lock.close(); // closing the file releases its lock
      } catch {
        // already closed
      }
      return Promise.resolve();
    });
  }

  async #load(): Promise<void> {
    const firsts: number[] = [];
    for await (const entry of Deno.readDir(this.#dir)) {
      const m = SEGMENT.exec(entry.name);
      if (m && entry.isFile) firsts.push(Number(m[1]));
    }
    firsts.sort((a, b) => a - b);
    const cursor = await this.#readCursor();
    for (const first of firsts) {
      const segment = await this.#scan(first);
      const end = segment.first + segment.lines;
      if (end <= cursor || segment.lines === 0) {
        await Deno.remove(this.#path(first)).catch(() => {});
        continue;
      }
      this.#segments.push(segment);
    }
    const last = this.#segments.at(-1);
    this.#next = last ? last.first + last.lines : Math.max(cursor, firsts.at(-1) ?? 0);
    const oldest = this.#segments[0]?.first ?? this.#next;
    this.#cursor = Math.min(Math.max(cursor, oldest), this.#next);
  }

  /** Counts a segment's whole lines and cuts off a torn last line. */
  async #scan(first: number): Promise<Segment> {
    const path = this.#path(first);
    const data = await Deno.readFile(path);
    let lines = 0;
    let end = 0;
    for (let i = data.indexOf(NEWLINE); i >= 0; i = data.indexOf(NEWLINE, i + 1)) {
      lines++;
      end = i + 1;
    }
    if (end < data.length) await Deno.truncate(path, end).catch(() => {});
    return { first, lines, bytes: end };
  }

  /** Moves events from the spool format before the log into it, then removes the old files. */
  async #importLegacy(): Promise<void> {
    const seqs: number[] = [];
    for await (const entry of Deno.readDir(this.#dir)) {
      const m = LEGACY_SEGMENT.exec(entry.name);
      if (m && entry.isFile) seqs.push(Number(m[1]));
    }
    if (seqs.length === 0) return;
    seqs.sort((a, b) => a - b);
    let cursor: { seq?: unknown; offset?: unknown } = {};
    try {
      cursor = JSON.parse(await Deno.readTextFile(`${this.#dir}/cursor.json`));
    } catch {
      // no cursor: everything is unconfirmed
    }
    for (const seq of seqs) {
      const path = `${this.#dir}/${String(seq).padStart(12, "0")}.ndjson`;
      const lines = (await Deno.readTextFile(path)).split("\n").filter((l) => l.length > 0);
      const skip = typeof cursor.seq === "number" && typeof cursor.offset === "number"
        ? seq < cursor.seq ? lines.length : seq === cursor.seq ? cursor.offset : 0
        : 0;
      const rest = lines.slice(skip).map((l) => l + "\n");
      if (rest.length > 0) {
        const result = await this.#append(rest);
        if (result.error) throw result.error;
      }
      await Deno.remove(path);
    }
    await Deno.remove(`${this.#dir}/cursor.json`).catch(() => {});
  }

  async #append(lines: readonly string[]): Promise<AppendResult> {
    const firstLsn = this.#next;
    if (this.#closed) return { firstLsn, written: 0, overLimit: 0, error: new Error("log closed") };
    let data = encoder.encode(lines.join(""));
    let count = lines.length;
    const room = this.#maxBytes - this.bytes;
    if (data.byteLength > room) {
      count = fitting(lines, room);
      data = data.subarray(0, lengthOfLines(data, count));
    }
    const overLimit = lines.length - count;
    if (count === 0) return { firstLsn, written: 0, overLimit };
    let done = 0;
    let writer: { segment: Segment; file: Deno.FsFile } | undefined;
    try {
      writer = await this.#writerFor(data.byteLength);
      while (done < data.byteLength) done += await writer.file.write(data.subarray(done));
      await writer.file.sync();
      this.#added(writer.segment, count, data.byteLength);
      return { firstLsn, written: count, overLimit };
    } catch (error) {
      const written = linesIn(data, done);
      const whole = lengthOfLines(data, written);
      if (writer) {
        this.#added(writer.segment, written, whole);
        await this.#cutTorn(writer, done > whole);
      }
      return { firstLsn, written, overLimit, error: asError(error) };
    }
  }

  #added(segment: Segment, lines: number, bytes: number): void {
    segment.lines += lines;
    segment.bytes += bytes;
    this.#next += lines;
  }

  /** After a failed write: cut a torn tail off, or start a new segment if that fails too. */
  async #cutTorn(writer: { segment: Segment; file: Deno.FsFile }, torn: boolean): Promise<void> {
    if (!torn) return;
    try {
      await writer.file.truncate(writer.segment.bytes);
      // The file position stays past the cut: move it back, or the next write leaves a hole.
      await writer.file.seek(writer.segment.bytes, Deno.SeekMode.Start);
    } catch {
      this.#closeWriter(); // the torn bytes stay; no good line ever follows them
    }
  }

  async #writerFor(size: number): Promise<{ segment: Segment; file: Deno.FsFile }> {
    const w = this.#writer;
    if (w && w.segment.bytes + size <= SEGMENT_BYTES) return w;
    this.#closeWriter();
    const last = this.#segments.at(-1);
    // A segment left empty by a failed write is reused, never listed twice.
    const reuse = last !== undefined && last.lines === 0 && last.first === this.#next;
    const segment: Segment = reuse ? last : { first: this.#next, lines: 0, bytes: 0 };
    const file = await Deno.open(this.#path(segment.first), {
      create: true,
      write: true,
      truncate: true,
    });
    if (!reuse) this.#segments.push(segment);
    this.#writer = { segment, file };
    return this.#writer;
  }

  #closeWriter(): void {
    try {
      this.#writer?.file.close();
    } catch {
      // already closed
    }
    this.#writer = undefined;
  }

  async #read(from: number, max: number): Promise<WalRecord[]> {
    const start = Math.max(from, this.#cursor);
    const segment = this.#segments.find((s) => start >= s.first && start < s.first + s.lines);
    if (!segment || max <= 0) return [];
    // A segment is read only once it is sealed, so its cached lines stay valid.
    if (this.#writer?.segment === segment) this.#closeWriter();
    let cache = this.#readCache;
    if (cache?.first !== segment.first) {
      const text = decoder.decode(await Deno.readFile(this.#path(segment.first)));
      cache = { first: segment.first, lines: text.split("\n").slice(0, segment.lines) };
      this.#readCache = cache;
    }
    const out: WalRecord[] = [];
    const end = Math.min(segment.first + segment.lines, start + max);
    for (let lsn = start; lsn < end; lsn++) {
      out.push({ lsn, event: parseLine(cache.lines[lsn - segment.first]) });
    }
    return out;
  }

  async #confirm(upTo: number): Promise<void> {
    if (this.#closed || upTo <= this.#cursor) return;
    this.#cursor = Math.min(upTo, this.#next);
    while (this.#segments.length > 0) {
      const s = this.#segments[0];
      if (s.first + s.lines > this.#cursor) break;
      const open = this.#writer?.segment === s;
      if (open && s.bytes < Math.min(RECYCLE_BYTES, this.#maxBytes / 4)) break;
      if (open) this.#closeWriter();
      this.#segments.shift();
      if (this.#readCache?.first === s.first) this.#readCache = undefined;
      await Deno.remove(this.#path(s.first)).catch(() => {});
    }
    await this.#writeCursor();
  }

  #path(first: number): string {
    return `${this.#dir}/${String(first).padStart(16, "0")}.wal`;
  }

  async #readCursor(): Promise<number> {
    try {
      const value = Number((await Deno.readTextFile(`${this.#dir}/cursor`)).trim());
      return Number.isSafeInteger(value) && value >= 0 ? value : 0;
    } catch {
      return 0;
    }
  }

  /** Written without fsync: a lost cursor update only replays confirmed lines (at-least-once). */
  async #writeCursor(): Promise<void> {
    const tmp = `${this.#dir}/cursor.tmp`;
    try {
      await Deno.writeTextFile(tmp, String(this.#cursor));
      await Deno.rename(tmp, `${this.#dir}/cursor`);
    } catch {
      // a full disk: the next confirm writes it again
    }
  }

  /** Runs file operations one at a time, in call order. */
  #serial<T>(op: () => Promise<T>): Promise<T> {
    const next = this.#tail.then(op, op);
    this.#tail = next.catch(() => {});
    return next;
  }
}

function parseLine(line: string | undefined): LogEvent | undefined {
  if (!line) return undefined;
  try {
    const value = JSON.parse(line);
    return typeof value === "object" && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

/** How many of `lines` fit, from the first, in `room` bytes. */
function fitting(lines: readonly string[], room: number): number {
  let used = 0;
  for (let i = 0; i < lines.length; i++) {
    used += encoder.encode(lines[i]).byteLength;
    if (used > room) return i;
  }
  return lines.length;
}

/** Whole lines in the first `length` bytes of `data`. */
function linesIn(data: Uint8Array, length: number): number {
  let n = 0;
  for (let i = data.indexOf(NEWLINE); i >= 0 && i < length; i = data.indexOf(NEWLINE, i + 1)) n++;
  return n;
}

/** Bytes of the first `count` lines of `data`. */
function lengthOfLines(data: Uint8Array, count: number): number {
  let end = 0;
  for (let n = 0; n < count; n++) end = data.indexOf(NEWLINE, end) + 1;
  return end;
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
