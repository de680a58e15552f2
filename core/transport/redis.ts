/**
 * The Redis Streams log transport, on node-redis (`@redis/client`, the
 * client Redis maintains).
 *
 * Layout under `stream` (default `sluice-events`):
 * - `<stream>:<sink>`: one stream per sink, fields `id`, `body` (and `a`,
 *   attempts before, on a retried entry); consumer group `sluice-<sink>`.
 *   An acked entry is deleted (`XACK` + `XDEL`), so the stream holds the
 *   sink's backlog, like a JetStream work queue.
 * - `<stream>-dlq`: dead letters, fields `id`, `sink`, `reason`, `attempt`,
 *   `entry` (its stream id), `body`.
 * - `<stream>-dedup:<id>`: publish de-duplication markers (`SET NX PX`).
 * - `<stream>-retry:<sink>`: sorted set of retries by due time.
 * - `<stream>-redelivered`: hash, redeliveries per sink.
 *
 * Publish is one Lua script per event, `SET NX PX` of the marker then `XADD`
 * only if new, all of a batch pipelined in one write. A script (rather than
 * `MULTI`) because the `XADD` depends on the `SET`'s answer. Redelivery after
 * a worker dies is `XAUTOCLAIM` past `ackWaitMs`; `retry(delay)` acks the
 * entry and parks it in the retry set, from which any consumer moves it back
 * into the stream once due (Redis has no delayed redelivery of its own).
 * @module
 */

import { Buffer } from "node:buffer";
import {
  createClient,
  ErrorReply,
  type RedisClientType,
  RESP_TYPES,
  TimeoutError,
  TimeoutReadError,
} from "npm:@redis/client@6.4.0";
import type {
  ConsumeOptions,
  ConsumerLag,
  Delivery,
  LogTransport,
  StreamStats,
  TransportOptions,
} from "./types.ts";
import {
  ACK,
  CLAIM,
  DEAD_LETTER,
  FORGET_CONSUMER,
  PROMOTE,
  PUBLISH,
  type RedisScript,
  RETRY,
} from "./redis_scripts.ts";
import { pause } from "../deadline.ts";

/** Longest wait for the TCP connect and the handshake. */
export const REDIS_CONNECT_TIMEOUT_MS = 2_000;
/** Longest wait for one command's reply (a publish batch, an ack, a stats read). */
export const REDIS_COMMAND_TIMEOUT_MS = 3_000;
/** How long a publish's id is remembered for de-duplication (JetStream's default window). */
export const REDIS_DEDUP_WINDOW_MS = 120_000;
/** Longest single `XREADGROUP ... BLOCK`; the loop also wakes for claims and due retries. */
const MAX_BLOCK_MS = 1_000;
/** Bytes an entry costs beyond its id and body, for the `maxBytes` → `MAXLEN` estimate. */
const ENTRY_OVERHEAD_BYTES = 64;

/** Why a Redis transport call failed: `transport_unavailable` (unreachable, timed out) or `transport_error`. */
export class RedisTransportError extends Error {
  /** `transport_unavailable` when Redis could not be reached in time; else `transport_error`. */
  readonly code: "transport_unavailable" | "transport_error";
  /**
   * @param message What failed, without credentials.
   * @param code The failure class.
   */
  constructor(message: string, code: "transport_unavailable" | "transport_error") {
    super(message);
    this.name = "RedisTransportError";
    this.code = code;
  }
}

/** How the stream limits were applied (Redis has no byte limit; see {@link RedisStreamStats}). */
export interface RedisLimits {
  /** `MAXLEN ~` per sink stream derived from `maxBytes`, when set. */
  maxLenPerSink?: number;
  /** Running estimate of one entry's size, used for `maxLenPerSink`. */
  entryBytesEstimate: number;
  /** `maxAgeMs`, applied as `XTRIM MINID ~ <now - maxAgeMs>` on each publish, when set. */
  minIdAgeMs?: number;
  /** The method, in words, for the start-up line. */
  note: string;
}

/** {@link StreamStats} with what the Redis transport did about the limits. */
export interface RedisStreamStats extends StreamStats {
  /** How `maxBytes` / `maxAgeMs` were approximated. */
  limits: RedisLimits;
  /** Re-publishes this process dropped as duplicates (inside the de-duplication window). */
  duplicatesDropped: number;
}

// deno-lint-ignore ban-types
type Client = RedisClientType<{}, {}, {}, 2, {}>;

const BUFFERS = { typeMapping: { [RESP_TYPES.BLOB_STRING]: Buffer } } as const;

interface Endpoint {
  url: string;
  password?: string;
  shown: string;
  secrets: string[];
}

function parseEndpoint(options: TransportOptions): Endpoint {
  let u: URL;
  try {
    u = new URL(options.url);
  } catch {
    throw new RedisTransportError(
      "log.transport.url is not a URL; use redis://[:password@]host:6379[/db]",
      "transport_error",
    );
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
    throw new RedisTransportError(
      `log.transport.url must start with redis:// or rediss:// (got ${u.protocol}//)`,
      "transport_error",
    );
  }
  const secrets = [options.password, u.password, safeDecode(u.password)].filter(
    (s): s is string => !!s && s.length > 0,
  );
  if (options.password) u.password = "";
  const shown = `${u.protocol}//${u.host}${u.pathname === "/" ? "" : u.pathname}`;
  return { url: u.toString(), password: options.password || undefined, shown, secrets };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function text(v: unknown): string {
  return v instanceof Uint8Array ? new TextDecoder().decode(v) : String(v);
}

/**
 * Connects to Redis and returns the Redis Streams {@link LogTransport}.
 *
 * The first connection must succeed within {@link REDIS_CONNECT_TIMEOUT_MS}
 * (else this throws a {@link RedisTransportError}, like a NATS connect);
 * after that the client reconnects by itself (backoff up to 2 s) and, while
 * it is down, `publish` throws at once instead of queueing, so the caller
 * spools. Errors never contain the password.
 *
 * @param options Where Redis is, the key prefix, limits and password.
 * @returns The connected transport.
 *
 * @example
 * ```ts ignore
 * import { openRedisTransport } from "./redis.ts";
 *
 * const t = await openRedisTransport({ url: "redis://127.0.0.1:6379", stream: "sluice-events" });
 * await t.ensure(["webhook"]);
 * await t.publish([{ sink: "webhook", id: "evt_1.webhook", body: new TextEncoder().encode("{}") }]);
 * await t.close();
 * ```
 */
export async function openRedisTransport(options: TransportOptions): Promise<LogTransport> {
  const endpoint = parseEndpoint(options);
  const stream = options.stream || "sluice-events";
  const scrub = (message: string) =>
    endpoint.secrets.reduce((m, s) => m.replaceAll(s, "***"), message);
  let lastError = "";

  /**
   * A client that reconnects by itself (backoff up to 2 s) once it has been
   * connected; with `persist` it also keeps trying the first connect, else
   * `connected` rejects when the first connect fails or hangs.
   */
  function newClient(persist = false): { client: Client; connected: Promise<void> } {
    let opened = false;
    const client = createClient({
      url: endpoint.url,
      ...(endpoint.password ? { password: endpoint.password } : {}),
      RESP: 2,
      disableOfflineQueue: true,
      commandOptions: { timeout: REDIS_COMMAND_TIMEOUT_MS, rejectInFlight: true },
      socket: {
        connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
        keepAlive: true,
        reconnectStrategy: (retries: number, cause: Error) =>
          opened || persist ? Math.min(50 * 2 ** Math.min(retries, 6), 2_000) : cause,
      },
    });
    client.on("error", (e: unknown) => {
      lastError = scrub(e instanceof Error ? e.message : String(e));
    });
    if (persist) {
      const connected = client.connect().then(() => {
        opened = true;
      }, () => {});
      return { client, connected };
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const connected = Promise.race([
      client.connect().then(() => {
        opened = true;
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${REDIS_CONNECT_TIMEOUT_MS} ms`)),
          REDIS_CONNECT_TIMEOUT_MS,
        );
      }),
    ]).then(
      () => clearTimeout(timer),
      (e) => {
        clearTimeout(timer);
        client.destroy();
        throw unavailable("connect", e);
      },
    );
    return { client, connected };
  }

  /**
   * A command on `c` got no reply in time: the connection is stalled (a
   * paused server, a dead network) and node-redis would keep it. Swap in a
   * fresh client that reconnects in the background, so the next calls fail
   * at once (offline) instead of each waiting out the timeout.
   */
  function replaceIfStalled(c: Client, e: unknown): void {
    if (!(e instanceof TimeoutReadError || e instanceof TimeoutError)) return;
    if (c !== client || closed) return;
    client = newClient(true).client;
    c.destroy();
  }

  function unavailable(what: string, e: unknown): RedisTransportError {
    const cause = scrub(e instanceof Error ? e.message : String(e));
    const detail = lastError && lastError !== cause ? `${cause}; last error: ${lastError}` : cause;
    return new RedisTransportError(
      `redis at ${endpoint.shown}: ${what} failed (${detail})`,
      isConnectionError(e) ? "transport_unavailable" : "transport_error",
    );
  }

  const main = newClient();
  await main.connected;
  let client = main.client;
  const current = () => client;
  let closed = false;
  const readers = new Set<Client>();
  const knownSinks = new Set<string>();
  let entryBytes = 0;
  let duplicatesDropped = 0;

  const key = (sink: string) => `${stream}:${sink}`;
  const group = (sink: string) => `sluice-${sink}`;
  const retryKey = (sink: string) => `${stream}-retry:${sink}`;
  const dedupKey = (id: string) => `${stream}-dedup:${id}`;
  const dlqKey = `${stream}-dlq`;
  const redeliveredKey = `${stream}-redelivered`;

  function maxLenPerSink(): number | undefined {
    if (!options.maxBytes) return undefined;
    const per = options.maxBytes / Math.max(1, knownSinks.size) / Math.max(1, entryBytes || 1024);
    return Math.max(1, Math.floor(per));
  }

  function limits(): RedisLimits {
    const maxLen = maxLenPerSink();
    const parts: string[] = [];
    if (maxLen !== undefined) {
      parts.push(
        `max_bytes ~ MAXLEN ~${maxLen} per sink stream (${options.maxBytes} B / ${
          Math.max(1, knownSinks.size)
        } sinks / ~${Math.round(entryBytes || 1024)} B per entry)`,
      );
    }
    if (options.maxAgeMs) parts.push(`max_age ~ XTRIM MINID ~ now-${options.maxAgeMs} ms`);
    return {
      ...(maxLen !== undefined ? { maxLenPerSink: maxLen } : {}),
      entryBytesEstimate: Math.round(entryBytes || 1024),
      ...(options.maxAgeMs ? { minIdAgeMs: options.maxAgeMs } : {}),
      note: parts.length ? `approximate, trimmed on publish: ${parts.join("; ")}` : "no limits",
    };
  }

  function checkOpen(what: string): void {
    if (closed) throw new RedisTransportError(`redis transport closed: ${what}`, "transport_error");
  }

  async function run<T>(
    c: Client,
    s: RedisScript,
    keys: string[],
    args: (string | Buffer)[],
    opts?: Record<string, unknown>,
  ): Promise<T> {
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await c.sendCommand<T>(["EVALSHA", s.sha, ...tail], opts);
    } catch (e) {
      if (!(e instanceof Error) || !e.message.startsWith("NOSCRIPT")) throw e;
      return await c.sendCommand<T>(["EVAL", s.source, ...tail], opts);
    }
  }

  async function ensureGroup(c: Client, sink: string): Promise<void> {
    try {
      await c.sendCommand(["XGROUP", "CREATE", key(sink), group(sink), "0", "MKSTREAM"]);
    } catch (e) {
      if (!(e instanceof Error) || !e.message.startsWith("BUSYGROUP")) throw e;
    }
  }

  function delivery(
    sink: string,
    entry: string,
    id: string,
    body: Uint8Array,
    attempt: number,
    onRetry?: (delayMs: number) => void,
  ): Delivery {
    const call = async (
      what: string,
      s: RedisScript,
      keys: string[],
      args: (string | Buffer)[],
    ) => {
      checkOpen(what);
      const c = client;
      try {
        await run(c, s, keys, args);
      } catch (e) {
        replaceIfStalled(c, e);
        throw unavailable(`${what} of ${id}`, e);
      }
    };
    return {
      id,
      body,
      attempt,
      ack: () => call("ack", ACK, [key(sink)], [group(sink), entry]),
      retry: (delayMs) => {
        onRetry?.(delayMs);
        return call("retry", RETRY, [key(sink), retryKey(sink)], [
          group(sink),
          entry,
          String(Math.max(0, Math.round(delayMs))),
          String(attempt),
          id,
          toBuffer(body),
        ]);
      },
      deadLetter: (reason) =>
        call("dead-letter", DEAD_LETTER, [key(sink), dlqKey], [
          group(sink),
          entry,
          id,
          sink,
          reason,
          String(attempt),
          toBuffer(body),
        ]),
    };
  }

  /** Turns `[entryId, [field, value, ...]]` into a delivery. */
  function fromEntry(
    sink: string,
    raw: unknown,
    deliveries: number,
    onRetry?: (delayMs: number) => void,
  ): Delivery | undefined {
    if (!Array.isArray(raw) || !Array.isArray(raw[1])) return undefined;
    const fields = raw[1] as Buffer[];
    let id = "";
    let body: Uint8Array = new Uint8Array();
    let before = 0;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = text(fields[i]);
      if (name === "id") id = text(fields[i + 1]);
      else if (name === "body") body = new Uint8Array(fields[i + 1]);
      else if (name === "a") before = Number(text(fields[i + 1])) || 0;
    }
    return delivery(sink, text(raw[0]), id, body, before + deliveries, onRetry);
  }

  async function* consume(opts: ConsumeOptions): AsyncGenerator<Delivery[]> {
    const { sink, consumer, signal } = opts;
    const batch = String(Math.max(1, opts.batch));
    const claimEvery = Math.min(Math.max(Math.floor(opts.ackWaitMs / 4), 25), MAX_BLOCK_MS);
    checkOpen("consume");
    let reader: Client | undefined;
    const onAbort = () => reader?.destroy();
    signal.addEventListener("abort", onAbort, { once: true });
    let cursor = "0-0";
    let nextClaimAt = 0;
    let nextDueAt = 0;
    let backoff = 0;
    // A retry from this worker wakes this loop when it falls due (others poll within MAX_BLOCK_MS).
    const onRetry = (delayMs: number) => {
      nextDueAt = Math.min(nextDueAt, Date.now() + Math.max(0, delayMs));
    };
    try {
      while (!signal.aborted && !closed) {
        try {
          if (!reader) {
            const r = newClient();
            reader = r.client;
            readers.add(reader);
            try {
              await r.connected;
            } catch (e) {
              readers.delete(reader);
              reader = undefined;
              throw e;
            }
            if (signal.aborted) break;
            await ensureGroup(reader, sink);
          }
          const c = reader;
          let now = Date.now();
          if (now >= nextDueAt) {
            const wait = await run<number>(
              c,
              PROMOTE,
              [key(sink), retryKey(sink), redeliveredKey],
              [
                batch,
                sink,
              ],
            );
            nextDueAt = now + (wait < 0 ? MAX_BLOCK_MS : Math.min(wait, MAX_BLOCK_MS));
          }
          if (now >= nextClaimAt) {
            const r = await run<unknown[]>(c, CLAIM, [key(sink), redeliveredKey], [
              group(sink),
              consumer,
              String(opts.ackWaitMs),
              cursor,
              batch,
              sink,
            ], BUFFERS);
            cursor = text(r[0]);
            nextClaimAt = cursor === "0-0" ? Date.now() + claimEvery : 0;
            const got: Delivery[] = [];
            for (let i = 1; i + 2 < r.length; i += 3) {
              const d = fromEntry(sink, [r[i], r[i + 1]], Number(r[i + 2]) || 2, onRetry);
              if (d) got.push(d);
            }
            if (got.length > 0) {
              backoff = 0;
              yield got;
              continue;
            }
          }
          now = Date.now();
          const block = Math.max(
            1,
            Math.min(nextDueAt, nextClaimAt || now, now + MAX_BLOCK_MS) - now,
          );
          // A blocking read is not timed out by node-redis once sent: a stalled
          // connection is dropped here (a fresh one is made on the next turn).
          const stall = setTimeout(() => c.destroy(), block + REDIS_COMMAND_TIMEOUT_MS);
          const reply = await c.withCommandOptions({
            abortSignal: signal,
            rejectInFlight: true,
            ...BUFFERS,
          }).sendCommand<unknown[] | null>([
            "XREADGROUP",
            "GROUP",
            group(sink),
            consumer,
            "COUNT",
            batch,
            "BLOCK",
            String(block),
            "STREAMS",
            key(sink),
            ">",
          ]).finally(() => clearTimeout(stall));
          backoff = 0;
          const entries = Array.isArray(reply) && Array.isArray(reply[0])
            ? (reply[0] as unknown[])[1]
            : undefined;
          if (Array.isArray(entries) && entries.length > 0) {
            const got = entries.map((e) => fromEntry(sink, e, 1, onRetry)).filter((
              d,
            ): d is Delivery => d !== undefined);
            if (got.length > 0) yield got;
          }
        } catch (e) {
          if (signal.aborted || closed) break;
          const message = e instanceof Error ? e.message : String(e);
          if (message.startsWith("NOGROUP") && reader?.isReady) {
            // The stream or group vanished (a restart without persistence): make it again.
            await ensureGroup(reader, sink).catch(() => {});
            continue;
          }
          if (e instanceof TimeoutReadError || e instanceof TimeoutError) reader?.destroy();
          if (reader && !reader.isOpen) {
            readers.delete(reader);
            reader = undefined;
          }
          backoff = Math.min(backoff ? backoff * 2 : 50, 2_000);
          await pause(backoff, signal);
        }
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      if (reader) {
        const r = reader;
        readers.delete(r);
        if (client.isReady && !closed) {
          await run(client, FORGET_CONSUMER, [key(sink)], [group(sink), consumer]).catch(() => {});
        }
        r.destroy();
      }
    }
  }

  return {
    kind: "redis",

    async ensure(sinks) {
      checkOpen("ensure");
      const client = current();
      try {
        await Promise.all(sinks.map((sink) => ensureGroup(client, sink)));
      } catch (e) {
        throw unavailable("ensure", e);
      }
      for (const s of sinks) knownSinks.add(s);
    },

    async publish(events) {
      checkOpen("publish");
      if (events.length === 0) return;
      const c = client;
      if (!c.isReady) {
        throw unavailable(`publish of ${events.length} events`, new Error("not connected"));
      }
      for (const e of events) {
        knownSinks.add(e.sink);
        const size = e.body.byteLength + e.id.length + ENTRY_OVERHEAD_BYTES;
        entryBytes = entryBytes ? entryBytes * 0.99 + size * 0.01 : size;
      }
      const maxLen = String(maxLenPerSink() ?? 0);
      const maxAge = String(options.maxAgeMs ?? 0);
      const window = String(REDIS_DEDUP_WINDOW_MS);
      // Issued in one tick: node-redis writes them as one pipeline.
      const results = await Promise.allSettled(
        events.map((e) =>
          run<number>(c, PUBLISH, [dedupKey(e.id), key(e.sink)], [
            window,
            e.id,
            toBuffer(e.body),
            maxLen,
            maxAge,
          ])
        ),
      );
      let failed: unknown;
      let failures = 0;
      for (const r of results) {
        if (r.status === "rejected") {
          failed ??= r.reason;
          failures++;
        } else if (r.value === 0) duplicatesDropped++;
      }
      if (failures > 0) {
        replaceIfStalled(c, failed);
        throw unavailable(`publish of ${failures} of ${events.length} events`, failed);
      }
    },

    consume,

    async replayDeadLetters(sink) {
      checkOpen("replay");
      const suffix = `.replay-${Date.now()}`;
      let moved = 0;
      let start = "-";
      for (;;) {
        const entries = await client.withCommandOptions(BUFFERS).sendCommand<unknown[]>([
          "XRANGE",
          dlqKey,
          start,
          "+",
          "COUNT",
          "100",
        ]);
        if (!Array.isArray(entries) || entries.length === 0) return moved;
        for (const entry of entries as [unknown, unknown[]][]) {
          const [entryId, raw] = entry;
          const fields = new Map<string, unknown>();
          for (let i = 0; i + 1 < raw.length; i += 2) fields.set(text(raw[i]), raw[i + 1]);
          const owner = text(fields.get("sink"));
          start = `(${text(entryId)}`;
          if (!owner || (sink !== undefined && owner !== sink)) continue;
          const body = fields.get("body");
          await (this as LogTransport).publish([{
            sink: owner,
            id: `${text(fields.get("id"))}${suffix}`,
            body: body instanceof Uint8Array
              ? new Uint8Array(body)
              : new TextEncoder().encode(text(body)),
          }]);
          await client.sendCommand(["XDEL", dlqKey, text(entryId)]);
          moved++;
        }
      }
    },

    async stats(sinks): Promise<RedisStreamStats> {
      checkOpen("stats");
      const client = current();
      try {
        const perSink = await Promise.all(sinks.map(async (sink) => {
          const [groups, len, mem, retries, retryMem, redelivered] = await Promise.all([
            client.sendCommand<unknown[]>(["XINFO", "GROUPS", key(sink)]).catch((e) => {
              if (e instanceof Error && e.message.startsWith("ERR no such key")) return [];
              throw e;
            }),
            client.sendCommand<number>(["XLEN", key(sink)]),
            client.sendCommand<number | null>(["MEMORY", "USAGE", key(sink)]),
            client.sendCommand<number>(["ZCARD", retryKey(sink)]),
            client.sendCommand<number | null>(["MEMORY", "USAGE", retryKey(sink)]),
            client.sendCommand<string | null>(["HGET", redeliveredKey, sink]),
          ]);
          const info = groups.map((g) => pairs(g as unknown[])).find((g) => g.name === group(sink));
          const unacked = Number(info?.pending ?? 0);
          const lag = info?.lag === null || info?.lag === undefined
            ? Math.max(0, Number(len) - unacked)
            : Number(info.lag);
          const lagEntry: ConsumerLag = {
            sink,
            pending: lag + Number(retries),
            unacked,
            redelivered: Number(redelivered ?? 0),
          };
          return {
            lag: lagEntry,
            messages: Number(len) + Number(retries),
            bytes: Number(mem ?? 0) + Number(retryMem ?? 0),
          };
        }));
        const deadLettered = await client.sendCommand<number>(["XLEN", dlqKey]);
        return {
          messages: perSink.reduce((n, s) => n + s.messages, 0),
          bytes: perSink.reduce((n, s) => n + s.bytes, 0),
          ...(options.maxBytes ? { maxBytes: options.maxBytes } : {}),
          ...(options.maxAgeMs ? { maxAgeMs: options.maxAgeMs } : {}),
          deadLettered: Number(deadLettered),
          consumers: perSink.map((s) => s.lag),
          limits: limits(),
          duplicatesDropped,
        };
      } catch (e) {
        replaceIfStalled(client, e);
        throw unavailable("stats", e);
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      for (const r of readers) r.destroy();
      readers.clear();
      if (!client.isReady) {
        client.destroy();
        return;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        client.close(),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, REDIS_COMMAND_TIMEOUT_MS);
        }),
      ]);
      clearTimeout(timer);
      client.destroy();
    },
  };
}

/** RESP2 flat `[name, value, ...]` to an object. */
function pairs(flat: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[text(flat[i])] = flat[i + 1];
  return out;
}

function isConnectionError(e: unknown): boolean {
  return !(e instanceof ErrorReply) && !(e instanceof RedisTransportError);
}
