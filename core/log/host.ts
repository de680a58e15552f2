/**
 * Where the log side runs: in its own Worker (the default), so event
 * building, redaction, encoding and sink I/O never compete with requests on
 * the request thread; or in-thread behind the same interface where Workers
 * are missing. The request thread only ever calls {@link LogHost.submit}
 * with batches of hand-off records.
 * @module
 */
import type { FinishedCall } from "./call.ts";
import { LogCore, type LogInit } from "./core.ts";
import { type FromLogWorker, type ToLogWorker, uncrossError } from "./protocol.ts";
import { ThrottledReport } from "../pipeline/throttled_report.ts";
import type { CallDelivery, SinkSnapshot } from "../pipeline/pipeline.ts";
import type { TelemetryAnswer, TelemetryExport } from "../otlp/ingest.ts";
import type { RefusedReason } from "../otlp/metrics.ts";

/** The request thread's handle on the log side. */
export interface LogHost {
  /** Names of the sink instances. */
  readonly sinkNames: string[];
  /** Hands finished calls over; never blocks on logging, never throws. The records are given away. */
  submit(calls: FinishedCall[]): void;
  /** The `/metrics` exposition text. */
  metrics(): Promise<string>;
  /**
   * Hands an OTLP export to the log side and waits for its answer;
   * `saturated` when the log side is too far behind to take it now,
   * `unavailable` when it failed. The body bytes are given away.
   */
  ingest(input: TelemetryExport): Promise<TelemetryAnswer | "saturated" | "unavailable">;
  /** Counts an OTLP export the request thread refused (auth, size, type) in `/metrics`. */
  ingestRefused(signal: "traces" | "logs", reason: RefusedReason): void;
  /** Where one call's event stands with each sink (for the console's call page). */
  delivery(requestId: string): Promise<CallDelivery[]>;
  /** Each sink's live state: queue depth, spool, circuit, counters, last error (for the console). */
  sinks(): Promise<SinkSnapshot[]>;
  /** Delivers what it can within `deadlineMs`, keeps the rest in the write-ahead logs. */
  close(deadlineMs: number): Promise<void>;
}

/** Starts the log side in a Worker where the runtime has Workers, else in this thread. */
export function startLogHost(init: LogInit): Promise<LogHost> {
  return typeof Worker === "function" ? WorkerLogHost.start(init) : InThreadLogHost.start(init);
}

/** The log side on the request thread (runtimes without Workers, tests). */
export class InThreadLogHost implements LogHost {
  readonly #core: LogCore;

  private constructor(core: LogCore) {
    this.#core = core;
  }

  /** Loads the sinks and starts the pipeline in this thread. */
  static async start(init: LogInit): Promise<InThreadLogHost> {
    return new InThreadLogHost(await LogCore.start(init));
  }

  /** Names of the sink instances. */
  get sinkNames(): string[] {
    return this.#core.sinkNames;
  }

  /** Builds and routes the events now. */
  submit(calls: FinishedCall[]): void {
    this.#core.accept(calls);
  }

  /** The `/metrics` exposition text. */
  metrics(): Promise<string> {
    return Promise.resolve(this.#core.metricsText());
  }

  /** Ingests an export now. */
  ingest(input: TelemetryExport): Promise<TelemetryAnswer | "saturated" | "unavailable"> {
    return this.#core.ingest(input);
  }

  /** Counts a refused export. */
  ingestRefused(signal: "traces" | "logs", reason: RefusedReason): void {
    this.#core.ingestRefused(signal, reason);
  }

  /** Where one call's event stands with each sink. */
  delivery(requestId: string): Promise<CallDelivery[]> {
    return Promise.resolve(this.#core.delivery(requestId));
  }

  /** Each sink's live state. */
  sinks(): Promise<SinkSnapshot[]> {
    return Promise.resolve(this.#core.sinkStates());
  }

  /** Closes the pipeline. */
  close(deadlineMs: number): Promise<void> {
    return this.#core.close(deadlineMs);
  }
}

/**
 * Body bytes from this size on are transferred to the Worker (no copy, whatever the size);
 * smaller ones are copied, which costs less than a transfer.
 */
const TRANSFER_MIN_BYTES = 64 * 1024;

/**
 * Most calls handed to the log Worker and not yet taken by it, per sender:
 * past this the log side is far behind, and further calls are not handed
 * over (counted in `/metrics` and reported) so memory stays bounded.
 */
const MAX_BACKLOG_CALLS = 100_000;

/**
 * Most body bytes of OTLP exports handed to the log Worker and not yet
 * answered: past this, exports are answered 429 with `Retry-After`.
 */
const MAX_INGEST_BYTES = 64 * 1024 * 1024;

/** How long past its own deadline a closing Worker may take before it is terminated. */
const CLOSE_GRACE_MS = 2_000;

/** What both a `Worker` and a `MessagePort` offer. */
interface Endpoint {
  postMessage(message: unknown, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent) => void) | null;
}

/** The buffers of a batch's large body bytes, given away instead of copied. */
function transferable(calls: readonly FinishedCall[]): ArrayBuffer[] {
  const transfer: ArrayBuffer[] = [];
  for (const call of calls) {
    const bytes = call.bodyBytes;
    if (!bytes || bytes.byteLength < TRANSFER_MIN_BYTES) continue;
    const buffer = bytes.buffer;
    // Only a buffer the bytes fill alone is given away; a shared one is copied.
    if (
      buffer instanceof ArrayBuffer && bytes.byteOffset === 0 &&
      bytes.byteLength === buffer.byteLength && !transfer.includes(buffer)
    ) transfer.push(buffer);
  }
  return transfer;
}

/** Calls and scrapes over a message endpoint to the log Worker: its own thread's, or a port. */
abstract class RemoteLogHost implements LogHost {
  readonly #endpoint: Endpoint;
  readonly #waiting = new Map<number, (text: string) => void>();
  readonly #waitingSinks = new Map<number, (sinks: SinkSnapshot[]) => void>();
  readonly #waitingDelivery = new Map<number, (delivery: CallDelivery[]) => void>();
  readonly #waitingIngest = new Map<number, (answer: TelemetryAnswer | "unavailable") => void>();
  /** Body bytes of OTLP exports handed over and not yet answered. */
  #ingestBytes = 0;
  #nextId = 0;
  /** Set once the Worker failed: nothing more is sent. */
  protected dead?: string;
  /** Calls that could not be handed over (the Worker failed). */
  protected lost = 0;
  /** Set by `close`: calls handed over later are counted and reported, not sent. */
  protected closed = false;
  /** Names of the sink instances. */
  sinkNames: string[];
  readonly #maxBacklog: number;
  /** Calls posted and not yet taken by the Worker. */
  #backlog = 0;
  /** Calls not handed over since the last batch that was (sent with the next one). */
  #shed = 0;
  readonly #shedReport = new ThrottledReport((count, since) =>
    console.error(
      `sluice: ${count} calls${since} were not logged: the log side is ${this.#maxBacklog} calls behind`,
    )
  );

  constructor(endpoint: Endpoint, sinkNames: string[], maxBacklog = MAX_BACKLOG_CALLS) {
    this.#endpoint = endpoint;
    this.sinkNames = sinkNames;
    this.#maxBacklog = maxBacklog;
  }

  /** Delivers what it can within `deadlineMs`, or makes sure what it sent was taken. */
  abstract close(deadlineMs: number): Promise<void>;

  protected post(message: ToLogWorker, transfer: Transferable[] = []): void {
    this.#endpoint.postMessage(message, transfer);
  }

  /** Posts the batch; large body bytes are transferred, not copied. */
  submit(calls: FinishedCall[]): void {
    if (this.closed) {
      console.error(
        `sluice: ${calls.length} calls finished after the log side closed; they are not logged`,
      );
      return;
    }
    if (this.dead) {
      this.lost += calls.length;
      return;
    }
    if (this.#backlog >= this.#maxBacklog) {
      this.#shed += calls.length;
      this.#shedReport.add(calls.length, "behind");
      return;
    }
    this.#backlog += calls.length;
    this.post({ type: "calls", calls, shed: this.#shed }, transferable(calls));
    this.#shed = 0;
  }

  /** The `/metrics` exposition text, for every serving isolate's calls. */
  metrics(): Promise<string> {
    return this.ask("metrics");
  }

  /**
   * Hands an export to the log Worker (its bytes transferred) and waits for
   * the answer; `saturated` while the Worker is far behind on calls or holds
   * {@link MAX_INGEST_BYTES} of unanswered exports.
   */
  ingest(input: TelemetryExport): Promise<TelemetryAnswer | "saturated" | "unavailable"> {
    if (this.dead || this.closed) return Promise.resolve("unavailable");
    const size = input.bytes.byteLength;
    if (this.#backlog >= this.#maxBacklog || this.#ingestBytes + size > MAX_INGEST_BYTES) {
      return Promise.resolve("saturated");
    }
    this.#ingestBytes += size;
    const id = this.#nextId++;
    const buffer = input.bytes.buffer;
    const transfer = buffer instanceof ArrayBuffer && input.bytes.byteOffset === 0 &&
        input.bytes.byteLength === buffer.byteLength
      ? [buffer]
      : [];
    return new Promise((resolve) => {
      this.#waitingIngest.set(id, (answer) => {
        this.#ingestBytes -= size;
        resolve(answer);
      });
      this.post({ type: "ingest", id, input }, transfer);
    });
  }

  /** Counts a refused export on the log side. */
  ingestRefused(signal: "traces" | "logs", reason: RefusedReason): void {
    if (!this.dead && !this.closed) this.post({ type: "ingest-refused", signal, reason });
  }

  /** Where one call's event stands with each sink, from the log Worker (empty once it failed). */
  delivery(requestId: string): Promise<CallDelivery[]> {
    if (this.dead) return Promise.resolve([]);
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#waitingDelivery.set(id, resolve);
      this.post({ type: "delivery", id, requestId });
    });
  }

  /** Each sink's live state, from the log Worker (empty once it failed). */
  sinks(): Promise<SinkSnapshot[]> {
    if (this.dead) return Promise.resolve([]);
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#waitingSinks.set(id, resolve);
      this.post({ type: "sinks", id });
    });
  }

  /** Sends a `metrics` or `sync` request and waits for its answer. */
  protected ask(type: "metrics" | "sync"): Promise<string> {
    if (this.dead) return Promise.resolve("");
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      this.post({ type, id });
    });
  }

  /** Handles an answer; false for a message that is not one. */
  protected receive(data: FromLogWorker): boolean {
    if (data.type === "taken") {
      this.#backlog -= data.calls;
      return true;
    }
    if (data.type === "ingested") {
      this.#waitingIngest.get(data.id)?.(data.answer);
      this.#waitingIngest.delete(data.id);
      return true;
    }
    if (data.type === "delivery") {
      this.#waitingDelivery.get(data.id)?.(data.delivery);
      this.#waitingDelivery.delete(data.id);
      return true;
    }
    if (data.type === "sinks") {
      this.#waitingSinks.get(data.id)?.(data.sinks);
      this.#waitingSinks.delete(data.id);
      return true;
    }
    if (data.type !== "metrics" && data.type !== "synced") return false;
    this.#waiting.get(data.id)?.(data.type === "metrics" ? data.text : "");
    this.#waiting.delete(data.id);
    return true;
  }

  protected die(reason: string): void {
    this.dead ??= reason;
    for (const resolve of this.#waiting.values()) resolve("");
    this.#waiting.clear();
    for (const resolve of this.#waitingIngest.values()) resolve("unavailable");
    this.#waitingIngest.clear();
    for (const resolve of this.#waitingSinks.values()) resolve([]);
    for (const resolve of this.#waitingDelivery.values()) resolve([]);
    this.#waitingDelivery.clear();
    this.#waitingSinks.clear();
  }
}

/** The log side in a dedicated Worker, owned by this thread. */
export class WorkerLogHost extends RemoteLogHost {
  readonly #worker: Worker;
  #closed?: () => void;
  #closing?: () => void;

  private constructor(worker: Worker, maxBacklog?: number) {
    super(worker, [], maxBacklog);
    this.#worker = worker;
  }

  /**
   * Spawns the Worker and waits until its sinks are loaded (rejects with
   * their failure). `maxBacklog`: calls handed over and not yet taken past
   * which further calls are shed (default {@link MAX_BACKLOG_CALLS}).
   */
  static start(init: LogInit, maxBacklog?: number): Promise<WorkerLogHost> {
    const worker = new Worker(new URL("./worker.ts", import.meta.url).href, {
      type: "module",
      name: "sluice-log",
    });
    const host = new WorkerLogHost(worker, maxBacklog);
    return new Promise((resolve, reject) => {
      let started = false;
      worker.onmessage = (message: MessageEvent<FromLogWorker>) => {
        const data = message.data;
        if (data.type === "started") {
          started = true;
          host.sinkNames = data.sinkNames;
          resolve(host);
        } else if (data.type === "failed") {
          worker.terminate();
          reject(uncrossError(data.error));
        } else host.#receive(data);
      };
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault(); // a failing log side never takes the request thread down
        host.#die(event.message);
        if (!started) {
          worker.terminate();
          reject(new Error(`the log worker failed to start: ${event.message}`));
        }
      };
      host.post({ type: "start", init });
    });
  }

  #receive(data: FromLogWorker): void {
    if (this.receive(data)) return;
    if (data.type === "log") console[data.level](data.text);
    else if (data.type === "closing") this.#closing?.();
    else if (data.type === "closed") this.#closed?.();
  }

  /** The Worker crashed: what it held in memory is gone (its write-ahead logs are not). */
  #die(reason: string): void {
    if (this.dead) return;
    console.error(
      `sluice: the log worker failed (${reason}); calls from now on are not logged until restart`,
    );
    this.die(reason);
    this.#closed?.();
  }

  /**
   * A port for another serving isolate: a {@link PortLogHost} on it hands
   * calls to this same Worker. Close those isolates before this host.
   */
  connect(): MessagePort {
    const channel = new MessageChannel();
    this.post({ type: "connect", port: channel.port2 }, [channel.port2]);
    return channel.port1;
  }

  /**
   * Asks the Worker to close its pipeline and waits for it, then ends the
   * Worker. The wait is bounded twice: the Worker must reach the close
   * (after the calls queued before it) within `deadlineMs` + a grace, and
   * finish it within as long again.
   */
  async close(deadlineMs: number): Promise<void> {
    this.closed = true;
    if (!this.dead) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        const arm = () => {
          clearTimeout(timer);
          timer = setTimeout(resolve, deadlineMs + CLOSE_GRACE_MS);
        };
        this.#closed = resolve;
        this.#closing = arm; // the Worker reached the close: its own deadline starts now
        arm();
        this.post({ type: "close", deadlineMs });
      });
      clearTimeout(timer);
    }
    if (this.lost > 0) {
      console.error(`sluice: ${this.lost} calls were not logged after the log worker failed`);
    }
    this.#worker.terminate();
  }
}

/**
 * A serving isolate's handle on the log Worker that another thread owns
 * ({@link WorkerLogHost.connect}): its `close` only makes sure everything it
 * sent was taken; the owner closes the Worker.
 */
export class PortLogHost extends RemoteLogHost {
  readonly #port: MessagePort;

  /** A host over `port`, for a log side whose sinks are `sinkNames`. */
  constructor(port: MessagePort, sinkNames: string[]) {
    super(port, sinkNames);
    this.#port = port;
    port.onmessage = (message: MessageEvent<FromLogWorker>) => this.receive(message.data);
  }

  /**
   * Waits until the Worker has taken every batch sent on this port (at most
   * `deadlineMs`), then closes the port.
   */
  async close(deadlineMs: number): Promise<void> {
    this.closed = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)));
    await Promise.race([this.ask("sync"), late]);
    clearTimeout(timer);
    this.#port.close();
  }
}
