/**
 * A log transport: the durable stream between the gateways that publish
 * prepared events and the delivery workers that hand them to sinks. One
 * implementation per engine (NATS JetStream, Redis Streams); the pipeline
 * and the `deliver` command see only these types.
 *
 * Layout, for every engine: one stream (`stream:` in config, default
 * `sluice-events`); each event is published once per sink that takes it, as
 * that sink's prepared (redacted per its policy) event JSON, under the sink's
 * subject/key; each sink has one durable consumer group (`sluice-<sink>`)
 * shared by every worker; permanent failures go to the dead-letter stream
 * (`<stream>-dlq`).
 * @module
 */

/** Which engine carries the log stream (`log.transport.kind`). */
export type TransportKind = "local" | "nats" | "redis";

/** One prepared event for one sink, as published. */
export interface PublishedEvent {
  /** Sink instance name (selects subject/key and consumer group). */
  sink: string;
  /**
   * De-duplication key: `<event id>.<sink>`. A re-publish with the same key
   * (a gateway retrying after an unanswered publish) is stored once where the
   * engine can tell (JetStream `Nats-Msg-Id`); elsewhere the worker counts it
   * as a duplicate.
   */
  id: string;
  /** The prepared event's JSON text, UTF-8. */
  body: Uint8Array;
}

/** One message handed to a worker. */
export interface Delivery {
  /** The de-duplication key it was published with. */
  id: string;
  /** The prepared event's JSON text, UTF-8. */
  body: Uint8Array;
  /** 1 on the first delivery, more on redeliveries. */
  attempt: number;
  /** The sink confirmed it: remove it from the consumer's pending list. */
  ack(): Promise<void>;
  /** Deliver it again after `delayMs` (a retryable failure). */
  retry(delayMs: number): Promise<void>;
  /** Move it to the dead-letter stream with a reason, then ack it. */
  deadLetter(reason: string): Promise<void>;
}

/** How a worker reads one sink's consumer group. */
export interface ConsumeOptions {
  /** Sink instance name. */
  sink: string;
  /** This worker's consumer name inside the group (unique per process). */
  consumer: string;
  /** Most messages per fetch. */
  batch: number;
  /**
   * A message not acked within this long is handed to another consumer of
   * the group (JetStream `ack_wait`; Redis `XAUTOCLAIM` min idle time).
   */
  ackWaitMs: number;
  /** Stops the iteration (the worker is shutting down). */
  signal: AbortSignal;
}

/** A consumer group's position, for `/metrics`. */
export interface ConsumerLag {
  /** Sink instance name. */
  sink: string;
  /** Messages published for this sink not yet delivered to any worker. */
  pending: number;
  /** Messages delivered but not yet acked. */
  unacked: number;
  /** Redeliveries so far (as the engine counts them). */
  redelivered: number;
}

/** The stream's size against its limits, for `/metrics` and the start-up line. */
export interface StreamStats {
  /** Messages in the stream. */
  messages: number;
  /** Bytes in the stream. */
  bytes: number;
  /** `log.transport.max_bytes`, when set. */
  maxBytes?: number;
  /** `log.transport.max_age_ms`, when set. */
  maxAgeMs?: number;
  /** Messages in the dead-letter stream. */
  deadLettered: number;
  /** One entry per sink consumer group. */
  consumers: ConsumerLag[];
}

/**
 * An engine connection. `publish` resolves only once the engine stored the
 * message (JetStream publish ack; Redis `XADD` reply) and throws when it is
 * unreachable, so the caller can keep the event in its local spool.
 */
export interface LogTransport {
  /** The engine. */
  readonly kind: Exclude<TransportKind, "local">;
  /** Creates the stream, dead-letter stream and consumer groups if missing (idempotent). */
  ensure(sinks: readonly string[]): Promise<void>;
  /** Stores a batch; resolves when every message is stored, throws if any was not. */
  publish(events: readonly PublishedEvent[]): Promise<void>;
  /**
   * Yields batches from a sink's consumer group, redeliveries included,
   * until `signal` aborts. Resolves the wait between batches on the signal.
   */
  consume(options: ConsumeOptions): AsyncIterable<Delivery[]>;
  /** Stream size and per-sink lag. */
  stats(sinks: readonly string[]): Promise<StreamStats>;
  /**
   * Moves dead letters (of `sink`, or of every sink) back to their sink's
   * stream, each published under a new de-duplication key
   * (`<id>.replay-<epoch ms>`) and then removed from the dead-letter
   * stream: what an operator runs once the sink's fault is fixed. Resolves
   * with how many were moved.
   */
  replayDeadLetters(sink?: string): Promise<number>;
  /** Closes the connection (drains pending publishes first). */
  close(): Promise<void>;
}

/** Where the engine is and what the stream is called (`log.transport`, resolved). */
export interface TransportOptions {
  /** `nats://host:4222` or `redis://[:password@]host:6379[/db]`. */
  url: string;
  /** Stream name (NATS stream; Redis key prefix). Default `sluice-events`. */
  stream: string;
  /** Largest stream size in bytes (oldest dropped past it), when set. */
  maxBytes?: number;
  /** Oldest message age in ms (older dropped), when set. */
  maxAgeMs?: number;
  /** A password given apart from the URL (`REDIS_PASSWORD`); never logged. */
  password?: string;
}
