/**
 * The NATS JetStream transport, on the official clients
 * (`@nats-io/jetstream` over `@nats-io/transport-node`, which runs under
 * Deno's Node compatibility; `@nats-io/transport-deno` is published on JSR
 * only).
 *
 * Layout: one work-queue stream `<stream>` over the subjects
 * `<stream>.<sink>` (a message is removed once its sink's consumer acked
 * it; one with no consumer yet stays), a `Nats-Msg-Id` per message so a
 * re-publish within the duplicate window is stored once, one durable pull
 * consumer `sluice-<sink>` per sink shared by every worker (explicit ack,
 * `ack_wait` from the config: an unacked message goes to another worker),
 * and the dead-letter stream `<stream>-dlq` (limits retention).
 * @module
 */
import {
  connect,
  createInbox,
  headers,
  type Msg,
  type NatsConnection,
  type Subscription,
} from "npm:@nats-io/transport-node@3.4.0";
import {
  AckPolicy,
  type Consumer,
  DeliverPolicy,
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  type JsMsg,
  RetentionPolicy,
  StorageType,
} from "npm:@nats-io/jetstream@3.4.0";
import type {
  ConsumeOptions,
  Delivery,
  LogTransport,
  PublishedEvent,
  StreamStats,
  TransportOptions,
} from "./types.ts";
import { displayUrl, subjectToken } from "./options.ts";
import { pause } from "../deadline.ts";

/** How long a re-published message id is remembered (JetStream `duplicate_window`). */
const DUPLICATE_WINDOW_MS = 2 * 60_000;
/** Longest wait for the engine's answer to a publish or an API call. */
const REQUEST_TIMEOUT_MS = 5_000;
/** Default ack wait of the consumers `ensure` creates (a worker sets its own). */
const DEFAULT_ACK_WAIT_MS = 30_000;
/** How long a worker waits for more messages to fill a batch once one arrived. */
const LINGER_MS = 5;
/** Nanoseconds per millisecond (JetStream durations are in ns). */
const NS = 1_000_000;

/**
 * Connects to a NATS server with JetStream. Throws when the server cannot be
 * reached (the caller retries); once connected, the client reconnects on its
 * own forever. The URL's user info becomes the credentials (`user:pass@`,
 * or a token as `token@`) and is never shown.
 *
 * @param options Where the server is and what the stream is called.
 * @returns The transport.
 */
export async function openNatsTransport(options: TransportOptions): Promise<LogTransport> {
  const url = new URL(options.url);
  const user = decodeURIComponent(url.username);
  const pass = options.password ?? decodeURIComponent(url.password);
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: `${url.hostname.replace(/^\[|\]$/g, "")}:${url.port || "4222"}`,
      name: `sluice-${Deno.hostname()}-${Deno.pid}`,
      ...(user && pass ? { user, pass } : user ? { token: user } : {}),
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      timeout: REQUEST_TIMEOUT_MS,
    });
  } catch (error) {
    throw new Error(
      `cannot connect to NATS at ${displayUrl(options.url)}: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
  }
  const jsm = await jetstreamManager(nc, { timeout: REQUEST_TIMEOUT_MS });
  return new NatsTransport(nc, jetstream(nc, { timeout: REQUEST_TIMEOUT_MS }), jsm, options);
}

class NatsTransport implements LogTransport {
  readonly kind = "nats";
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #options: TransportOptions;
  readonly #dlq: string;

  constructor(
    nc: NatsConnection,
    js: JetStreamClient,
    jsm: JetStreamManager,
    options: TransportOptions,
  ) {
    this.#nc = nc;
    this.#js = js;
    this.#jsm = jsm;
    this.#options = options;
    this.#dlq = `${options.stream}-dlq`;
  }

  #subject(sink: string): string {
    return `${this.#options.stream}.${subjectToken(sink)}`;
  }

  #durable(sink: string): string {
    return `sluice-${subjectToken(sink)}`;
  }

  async ensure(sinks: readonly string[]): Promise<void> {
    const { stream, maxBytes, maxAgeMs } = this.#options;
    await this.#ensureStream({
      name: stream,
      subjects: [`${stream}.>`],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: DUPLICATE_WINDOW_MS * NS,
      max_bytes: maxBytes ?? -1,
      max_age: (maxAgeMs ?? 0) * NS,
    });
    await this.#ensureStream({
      name: this.#dlq,
      subjects: [`${this.#dlq}.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      duplicate_window: DUPLICATE_WINDOW_MS * NS,
      max_bytes: maxBytes ?? -1,
    });
    for (const sink of sinks) await this.#ensureConsumer(sink, undefined);
  }

  async #ensureStream(config: {
    name: string;
    subjects: string[];
    retention: RetentionPolicy;
    storage: StorageType;
    duplicate_window: number;
    max_bytes: number;
    max_age?: number;
  }): Promise<void> {
    let info;
    try {
      info = await this.#jsm.streams.info(config.name);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      try {
        await this.#jsm.streams.add(config);
        return;
      } catch (raced) {
        // Another process created it between the look-up and the add.
        info = await this.#jsm.streams.info(config.name).catch(() => {
          throw raced;
        });
      }
    }
    const c = info.config;
    if (c.retention !== config.retention) {
      throw new Error(
        `stream "${config.name}" exists with retention "${c.retention}", not "${config.retention}"; ` +
          "delete it or choose another log.transport.stream",
      );
    }
    const maxAge = config.max_age ?? c.max_age;
    if (c.max_bytes !== config.max_bytes || c.max_age !== maxAge) {
      await this.#jsm.streams.update(config.name, { max_bytes: config.max_bytes, max_age: maxAge });
    }
  }

  /** Creates the sink's durable consumer, or updates its ack wait when one is given and differs. */
  async #ensureConsumer(sink: string, ackWaitMs: number | undefined): Promise<void> {
    const { stream } = this.#options;
    const name = this.#durable(sink);
    const ackWait = (ackWaitMs ?? DEFAULT_ACK_WAIT_MS) * NS;
    try {
      const info = await this.#jsm.consumers.info(stream, name);
      if (ackWaitMs !== undefined && info.config.ack_wait !== ackWait) {
        await this.#jsm.consumers.update(stream, name, { ack_wait: ackWait });
      }
      return;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    try {
      await this.#jsm.consumers.add(stream, {
        durable_name: name,
        filter_subject: this.#subject(sink),
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: ackWait,
        max_deliver: -1, // attempts are bounded by the worker, which dead-letters
        max_ack_pending: 20_000,
      });
    } catch (error) {
      // Another worker created it first: fine when it is there now.
      await this.#jsm.consumers.info(stream, name).catch(() => {
        throw error;
      });
    }
  }

  /** Publish acks by reply token; one inbox subscription serves every publish. */
  readonly #acks = new Map<string, (error: string | undefined) => void>();
  #inbox?: { prefix: string; sub: Subscription };
  #token = 0;
  readonly #decoder = new TextDecoder();

  /**
   * Publishes a batch with one reply inbox for the connection and one timer
   * per batch (the client's `js.publish` sets up a request, a timer and a
   * parse per message); each message carries `Nats-Msg-Id`, and the batch
   * resolves once every publish ack arrived.
   */
  async publish(events: readonly PublishedEvent[]): Promise<void> {
    if (events.length === 0) return;
    if (this.#nc.isClosed()) throw new Error("the NATS connection is closed");
    if (!this.#inbox) {
      const prefix = createInbox();
      const sub = this.#nc.subscribe(`${prefix}.*`, {
        callback: (_error, msg) => this.#onAck(prefix, msg),
      });
      this.#inbox = { prefix, sub };
    }
    const { prefix } = this.#inbox;
    const tokens: string[] = [];
    const results = events.map((e) => {
      const token = (this.#token++).toString(36);
      tokens.push(token);
      const h = headers();
      h.set("Nats-Msg-Id", e.id);
      const acked = new Promise<string | undefined>((resolve) => this.#acks.set(token, resolve));
      this.#nc.publish(this.#subject(e.sink), e.body, { headers: h, reply: `${prefix}.${token}` });
      return acked;
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<void>((
      resolve,
    ) => (timer = setTimeout(resolve, REQUEST_TIMEOUT_MS)));
    const all = Promise.all(results);
    const outcome = await Promise.race([all, expired.then(() => undefined)]);
    clearTimeout(timer);
    for (const token of tokens) this.#acks.delete(token);
    if (!outcome) {
      throw new Error(
        `the NATS stream did not confirm ${events.length} events within ${REQUEST_TIMEOUT_MS} ms`,
      );
    }
    const failed = outcome.filter((e) => e !== undefined);
    if (failed.length > 0) {
      throw new Error(
        `the NATS stream did not store ${failed.length} of ${events.length} events: ${failed[0]}`,
      );
    }
  }

  /** A publish ack (or a no-responders status, or an API error) for one token. */
  #onAck(prefix: string, msg: Msg): void {
    const resolve = this.#acks.get(msg.subject.slice(prefix.length + 1));
    if (!resolve) return; // late, after its batch timed out
    if (msg.data.length === 0) {
      // A status message: 503 is "no responders" (no stream takes the subject).
      const code = msg.headers?.code ?? 0;
      resolve(code === 503 ? "no stream takes the subject (503)" : `status ${code}`);
      return;
    }
    // A PubAck is {"stream":…,"seq":…}; an API error carries "error" (parsed only then).
    const text = this.#decoder.decode(msg.data);
    if (text.includes('"error"')) {
      const error = (JSON.parse(text) as { error?: { description?: string } }).error;
      if (error) {
        resolve(error.description ?? "an API error");
        return;
      }
    }
    resolve(undefined);
  }

  async *consume(options: ConsumeOptions): AsyncIterable<Delivery[]> {
    const { signal } = options;
    while (!signal.aborted) {
      let consumer: Consumer;
      try {
        await this.#ensureConsumer(options.sink, options.ackWaitMs);
        consumer = await this.#js.consumers.get(this.#options.stream, this.#durable(options.sink));
      } catch {
        // The engine is away (or restarting): try again shortly.
        await pause(500, signal);
        continue;
      }
      const messages = await consumer.consume({
        max_messages: options.batch,
        expires: 5_000,
      });
      const buffer: JsMsg[] = [];
      let ended = false;
      let notify: (() => void) | undefined;
      let space: (() => void) | undefined;
      const stop = () => {
        messages.stop();
        space?.();
      };
      signal.addEventListener("abort", stop, { once: true });
      (async () => {
        try {
          for await (const m of messages) {
            buffer.push(m);
            notify?.();
            // Back-pressure: the client pulls more only once this worker took a batch, so
            // messages wait in the engine, where another worker can have them.
            while (buffer.length >= options.batch && !signal.aborted) {
              await new Promise<void>((resolve) => (space = resolve));
              space = undefined;
            }
          }
        } catch {
          // The iteration failed (consumer or stream gone): re-created below.
        } finally {
          ended = true;
          notify?.();
        }
      })();
      try {
        for (;;) {
          if (buffer.length === 0) {
            if (ended || signal.aborted) break;
            await new Promise<void>((resolve) => (notify = resolve));
            notify = undefined;
            continue;
          }
          if (buffer.length < options.batch && !ended) await pause(LINGER_MS, signal);
          if (signal.aborted) break;
          const batch = buffer.splice(0, options.batch);
          space?.();
          yield batch.map((m) => this.#delivery(options.sink, m));
        }
      } finally {
        signal.removeEventListener("abort", stop);
        messages.stop();
      }
      // Messages left in the buffer are not acked: the engine hands them out again.
      if (!signal.aborted) await pause(250, signal);
    }
  }

  #delivery(sink: string, m: JsMsg): Delivery {
    const id = m.headers?.get("Nats-Msg-Id") || `${this.#options.stream}:${m.seq}`;
    return {
      id,
      body: m.data,
      attempt: m.info.deliveryCount,
      ack: async () => {
        await m.ackAck({ timeout: REQUEST_TIMEOUT_MS });
      },
      retry: (delayMs) => {
        m.nak(Math.max(0, Math.round(delayMs)));
        return Promise.resolve();
      },
      deadLetter: async (reason) => {
        const h = headers();
        h.set("Sluice-Sink", sink);
        h.set("Sluice-Reason", reason.replace(/[\r\n]+/g, " ").slice(0, 1000));
        h.set("Sluice-Attempts", String(m.info.deliveryCount));
        await this.#js.publish(`${this.#dlq}.${subjectToken(sink)}`, m.data, {
          msgID: id,
          headers: h,
        });
        await m.ackAck({ timeout: REQUEST_TIMEOUT_MS });
      },
    };
  }

  async replayDeadLetters(sink?: string): Promise<number> {
    const info = await this.#jsm.streams.info(this.#dlq).catch((error) => {
      if (isNotFound(error)) return undefined;
      throw error;
    });
    if (!info || info.state.messages === 0) return 0;
    const suffix = `.replay-${Date.now()}`;
    let moved = 0;
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await this.#jsm.streams.getMessage(this.#dlq, { seq }).catch(() => null);
      if (!m) continue; // deleted already
      const owner = m.header?.get("Sluice-Sink") ?? "";
      if (!owner || (sink !== undefined && owner !== sink)) continue;
      const id = m.header?.get("Nats-Msg-Id") || `${this.#dlq}:${seq}`;
      await this.publish([{ sink: owner, id: `${id}${suffix}`, body: m.data }]);
      await this.#jsm.streams.deleteMessage(this.#dlq, seq, false);
      moved++;
    }
    return moved;
  }

  async stats(sinks: readonly string[]): Promise<StreamStats> {
    const { stream, maxBytes, maxAgeMs } = this.#options;
    const [main, dlq] = await Promise.all([
      this.#jsm.streams.info(stream),
      this.#jsm.streams.info(this.#dlq).catch(() => undefined),
    ]);
    const consumers = await Promise.all(sinks.map(async (sink) => {
      try {
        const info = await this.#jsm.consumers.info(stream, this.#durable(sink));
        return {
          sink,
          pending: info.num_pending,
          unacked: info.num_ack_pending,
          redelivered: info.num_redelivered,
        };
      } catch {
        return { sink, pending: 0, unacked: 0, redelivered: 0 };
      }
    }));
    return {
      messages: main.state.messages,
      bytes: main.state.bytes,
      ...(maxBytes !== undefined ? { maxBytes } : {}),
      ...(maxAgeMs !== undefined ? { maxAgeMs } : {}),
      deadLettered: dlq?.state.messages ?? 0,
      consumers,
    };
  }

  async close(): Promise<void> {
    if (this.#nc.isClosed()) return;
    this.#inbox?.sub.unsubscribe();
    try {
      await this.#nc.drain();
    } catch {
      await this.#nc.close();
    }
  }
}

function isNotFound(error: unknown): boolean {
  const e = error as { code?: unknown; api_error?: { err_code?: number }; message?: string };
  const code = e?.api_error?.err_code;
  return code === 10059 || code === 10014 || /not found/i.test(e?.message ?? "");
}
