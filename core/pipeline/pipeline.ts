/**
 * The log path: decides which sinks get an event, prepares it once per
 * distinct policy, and pushes it to each sink's runner. `emit` is
 * synchronous and never throws: the request path never waits on logging.
 * @module
 */
import type { RedactionConfig, SinkConfig } from "../config/types.ts";
import { type EffectivePolicy, effectivePolicy, policyKey } from "../redaction/policy.ts";
import { applyStructural, orderSecrets, scrubSecrets } from "../redaction/structural.ts";
import { maskSecrets } from "../loader/secrets.ts";
import type { LogEvent } from "../event/log_event.ts";
import { DEFAULT_SINK_EVENT_KINDS, type Sink, type SinkEventKind } from "../plugin.ts";
import { type CallControls, DEFAULT_CONTROLS } from "./controls.ts";
import { randomHex, randomUuid } from "../ids.ts";
import { type EventDelivery, type SinkCounters, SinkRunner } from "./sink_runner.ts";
import { minimalEvent } from "../event/minimal.ts";
import type { TelemetryBatch } from "../plugin.ts";
import { envelopeOf } from "../otlp/telemetry.ts";
import { redactTelemetry } from "../otlp/redact.ts";

/** A sink's numbers at scrape time. */
export interface SinkSnapshot {
  /** Instance name. */
  name: string;
  /** Outcome counters. */
  counters: SinkCounters;
  /** Events in memory. */
  queueDepth: number;
  /** Events in the spool. */
  spoolSize: number;
  /** Circuit state. */
  circuitOpen: boolean;
  /** Bytes of the spool on disk. */
  spoolBytes?: number;
  /** The last delivery failure's message (absent while delivering). */
  lastError?: string;
}

/** Where one call's event stands with one sink. */
export interface CallDelivery {
  /** Instance name. */
  sink: string;
  /**
   * `sent`, `queued`, `spooled`, `retrying` or `dropped`; `unknown` when the
   * sink was not handed the event, or it is older than the recent events a
   * sink remembers (20,000).
   */
  state: EventDelivery | "unknown";
  /** The sink's last delivery error, while it fails. */
  lastError?: string;
}

/** A sink ready to receive events. */
export interface PipelineSink {
  /** Instance name. */
  name: string;
  /** The plugin name (header controls may name either). */
  plugin: string;
  /** The config entry. */
  entry: SinkConfig;
  /** The plugin's sink. */
  sink: Sink;
  /** The plugin's default `on:` list. */
  defaultOn?: SinkEventKind[];
  /**
   * The sink takes OTLP telemetry: it gets envelopes, not events made from
   * GenAI spans; false: the events, not envelopes. Unknown (undefined, a
   * gateway forwarding to a log stream, whose workers load the plugins): both,
   * and the worker keeps what its sink takes.
   */
  telemetry?: boolean;
}

/**
 * Masks PII and strips base64 in an event's JSON text (the redaction core).
 * Keyed pseudonyms need WebCrypto, so a policy with `pseudonymSecret` may
 * get a promise.
 */
export type Masker = (json: string, policy: EffectivePolicy) => string | Promise<string>;

/** How events are redacted before they reach sinks. */
export interface PipelineRedaction {
  /** The global `redaction:` (a sink's own `redaction` replaces it). */
  global: RedactionConfig;
  /** Secret values of the config, replaced by `[SECRET]` in every event. */
  secrets: Iterable<string>;
  /** The masking step; without it only the structural step runs. */
  mask?: Masker;
}

/** Options of the pipeline. */
export interface PipelineOptions {
  /** Redaction applied per sink policy before events are queued (none when absent). */
  redaction?: PipelineRedaction;
  /** Spools live under `<dataDir>/spool/<sink>/`. */
  dataDir: string;
  /** Operator-facing log lines (default: stderr). */
  log?: (level: "info" | "warn" | "error", message: string) => void;
  /** Per-call deadline of a plugin's `log()` (default 30 s). */
  callTimeoutMs?: number;
  /** Longest wait before an event is fsynced to its sinks' write-ahead logs (default 20 ms). */
  fsyncMs?: number;
  /** Largest event line; a larger event's content is cut (default 4 MiB). */
  maxEventBytes?: number;
}

/** An event ready for its sinks, and its JSON text (exactly `JSON.stringify(event)`). */
interface Prepared {
  event: LogEvent;
  line: string;
}

/** The end of the rest-of-event text: the request metadata's slot, then metadata's and the event's braces. */
const REQUEST_SLOT = '"request":0}}';

interface Route {
  redaction?: SinkConfig["redaction"];
  name: string;
  plugin: string;
  on: ReadonlySet<string>;
  required: boolean;
  telemetry: boolean | undefined;
  runner: SinkRunner;
}

function defaultLog(level: "info" | "warn" | "error", message: string): void {
  (level === "info" ? console.error : level === "warn" ? console.warn : console.error)(
    `sluice: ${message}`,
  );
}

/** Routes events to sink runners. */
export class LogPipeline {
  readonly #routes: Route[];
  readonly #redaction?: PipelineRedaction;
  readonly #secrets: string[];
  readonly #pending = new Set<Promise<void>>();
  #closed = false;

  private constructor(routes: Route[], redaction?: PipelineRedaction) {
    this.#routes = routes;
    this.#redaction = redaction;
    this.#secrets = orderSecrets(redaction?.secrets ?? []);
  }

  /** Starts a runner (and opens its spool) for every sink. */
  static async start(
    sinks: readonly PipelineSink[],
    options: PipelineOptions,
  ): Promise<LogPipeline> {
    const routes: Route[] = [];
    const pipeline = new LogPipeline(routes, options.redaction);
    const emitLine = options.log ?? defaultLog;
    // Plugin error messages can echo credentials: config secrets never reach the log.
    const log = (level: "info" | "warn" | "error", message: string) =>
      emitLine(level, maskSecrets(message, pipeline.#secrets));
    try {
      for (const s of sinks) {
        const runner = await SinkRunner.start({
          name: s.name,
          sink: s.sink,
          queue: s.entry.queue,
          spoolDir: `${options.dataDir}/spool/${encodeURIComponent(s.name)}`,
          callTimeoutMs: s.entry.queue.call_timeout_ms ?? options.callTimeoutMs,
          fsyncMs: options.fsyncMs,
          maxEventBytes: options.maxEventBytes,
          hooks: {
            log: (level, message) => log(level, `sink "${s.name}": ${message}`),
            gatewayError: (message, code) => pipeline.gatewayError(s.name, message, code),
          },
        });
        routes.push({
          name: s.name,
          plugin: s.plugin,
          on: new Set(s.entry.on ?? s.defaultOn ?? DEFAULT_SINK_EVENT_KINDS),
          required: s.entry.required,
          redaction: s.entry.redaction,
          telemetry: s.telemetry,
          runner,
        });
      }
    } catch (error) {
      // The runners already started hold their spools open: stop them before giving up.
      await Promise.all(routes.map((r) => r.runner.stop(Date.now())));
      throw error;
    }
    return pipeline;
  }

  /**
   * Ingested telemetry so far: batches handed to sink runners (one per sink),
   * and strings redaction changed or removed in them (each sink policy counted).
   */
  readonly telemetryCounts: { routed: number; redacted: number } = { routed: 0, redacted: 0 };

  /** Names of the sink instances. */
  get sinkNames(): string[] {
    return this.#routes.map((r) => r.name);
  }

  /** The sinks an event goes to, given the call's controls. */
  route(event: LogEvent, controls: CallControls): string[] {
    return this.#select(event, controls).map((r) => r.name);
  }

  #select(event: LogEvent, controls: CallControls): Route[] {
    if (event.call_type === "gateway_error") {
      return this.#routes.filter((r) => r.on.has("gateway_error") && r.name !== event.source);
    }
    // An event made from an ingested span goes to the sinks that do not take the span itself.
    const fromOtlp = event.source === "otlp";
    return this.#routes.filter((r) => {
      if (fromOtlp && r.telemetry === true) return false;
      if (!r.on.has(event.status)) return false;
      if (r.required) return true;
      if (controls.noLog) return false;
      if (controls.sinks && !controls.sinks.includes(r.name)) return false;
      return !controls.disabledSinks.some((d) => d === r.name || d === r.plugin);
    });
  }

  /**
   * Hands an event to its sinks, redacted once per distinct policy (never
   * mutating `event`). Never blocks, never throws.
   */
  emit(event: LogEvent, controls: CallControls): void {
    try {
      if (this.#closed) {
        // Never pushed (it is not redacted): each sink it was meant for counts it as dropped.
        const why = "it arrived after the log path began to close";
        for (const route of this.#select(event, controls)) route.runner.drop(event, why);
        return;
      }
      const prepared = new Map<string, Route[]>();
      const policies = new Map<string, EffectivePolicy>();
      for (const route of this.#select(event, controls)) {
        if (!this.#redaction) {
          route.runner.push(event);
          continue;
        }
        const policy = effectivePolicy(this.#redaction.global, route.redaction, controls);
        const key = policyKey(policy);
        policies.set(key, policy);
        const routes = prepared.get(key);
        if (routes) routes.push(route);
        else prepared.set(key, [route]);
      }
      // One policy group failing must not cost the other sinks their event.
      for (const [key, routes] of prepared) {
        try {
          const ready = this.#prepare(event, policies.get(key)!);
          if (ready instanceof Promise) this.#later(event, ready, routes);
          else for (const route of routes) route.runner.push(ready.event, ready.line);
        } catch (error) {
          this.#unroutable(event, routes, error);
        }
      }
    } catch (error) {
      console.error(`sluice: could not route event ${event.request_id}: ${error}`);
    }
  }

  /**
   * An event that could not be prepared for `routes` (too deep, not
   * serialisable) is never sent unredacted: each route gets a minimal event
   * (ids, model, status, usage, an error saying why), counted as replaced.
   */
  #unroutable(event: LogEvent, routes: Route[], error: unknown): void {
    const reason = maskSecrets(`it could not be redacted: ${messageOf(error)}`, this.#secrets);
    console.error(
      `sluice: event ${String(event.request_id)} for ${
        routes.map((r) => r.name).join(", ")
      } replaced by a minimal event: ${reason}`,
    );
    let stand_in: LogEvent;
    try {
      stand_in = minimalEvent(event, reason);
      stand_in = JSON.parse(scrubSecrets(JSON.stringify(stand_in), this.#secrets));
    } catch (failure) {
      console.error(`sluice: could not build a minimal event: ${messageOf(failure)}`);
      return;
    }
    for (const route of routes) {
      route.runner.counters.replaced++;
      route.runner.push(stand_in);
    }
  }

  /** Pushes an event whose masking is asynchronous (keyed pseudonyms) once it is ready. */
  #later(event: LogEvent, ready: Promise<Prepared>, routes: Route[]): void {
    const done = ready.then(
      (prepared) => {
        for (const route of routes) route.runner.push(prepared.event, prepared.line);
      },
    ).catch((error) => this.#unroutable(event, routes, error))
      .finally(() => this.#pending.delete(done));
    this.#pending.add(done);
  }

  /**
   * Structural step on the object; then, in text: config secrets scrubbed
   * from the event's JSON, and masking over its content (messages, response,
   * raw request, error, request metadata); ids, model, timings, usage and
   * caller metadata are never masked. The event is serialised once, in two
   * parts (content, and the rest with a slot for the request metadata), and
   * parsed once: its line goes to the write-ahead logs as it is.
   */
  #prepare(event: LogEvent, policy: EffectivePolicy): Prepared | Promise<Prepared> {
    const out = applyStructural(event, policy);
    const mask = this.#redaction?.mask;
    const scrub = (json: string) =>
      this.#secrets.length > 0 ? scrubSecrets(json, this.#secrets) : json;
    if (!mask || (policy.detectors.length === 0 && !policy.stripBase64)) {
      const line = scrub(JSON.stringify(out));
      return { event: JSON.parse(line), line };
    }
    const { messages, response, raw_request, error, metadata, ...others } = out;
    const { request, ...caller } = metadata;
    // `metadata` last, and `request` last in it: the slot is the text's very end.
    const rest = scrub(JSON.stringify({ ...others, metadata: { ...caller, request: 0 } }));
    if (!rest.endsWith(REQUEST_SLOT)) throw new Error("the event's text has no request slot");
    const content = scrub(JSON.stringify({ messages, response, raw_request, error }));
    const assemble = (maskedContent: string, maskedRequest: string): Prepared => {
      const members = maskedContent.slice(1, -1);
      const line = rest.slice(0, -REQUEST_SLOT.length) + `"request":${maskedRequest}}` +
        (members ? `,${members}}` : "}");
      return { event: JSON.parse(line), line };
    };
    const maskedContent = mask(content, policy);
    const maskedRequest = mask(scrub(JSON.stringify(request ?? {})), policy);
    if (typeof maskedContent === "string" && typeof maskedRequest === "string") {
      return assemble(maskedContent, maskedRequest);
    }
    return Promise.all([maskedContent, maskedRequest]).then(([c, r]) => assemble(c, r));
  }

  /**
   * Hands ingested telemetry to the sinks that take OTLP (the caller's
   * controls apply as to a call), redacted once per distinct policy, in an
   * envelope that the runners queue and spool like an event. Never throws.
   */
  emitTelemetry(batch: TelemetryBatch, traceId: string, controls: CallControls): void {
    const routes = this.#routes.filter((r) => r.telemetry !== false);
    if (routes.length === 0) return;
    const probe = envelopeOf(batch, traceId);
    const selected = this.#select(probe, controls).filter((r) => r.telemetry !== false);
    if (this.#closed) {
      for (const route of selected) {
        route.runner.drop(probe, "it arrived after the log path began to close");
      }
      return;
    }
    const groups = new Map<string, { policy: EffectivePolicy; routes: Route[] }>();
    for (const route of selected) {
      const policy = this.#redaction
        ? effectivePolicy(this.#redaction.global, route.redaction, controls)
        : undefined;
      const key = policy ? policyKey(policy) : "";
      const group = groups.get(key);
      if (group) group.routes.push(route);
      else groups.set(key, { policy: policy!, routes: [route] });
    }
    for (const { policy, routes } of groups.values()) {
      const push = (redacted: TelemetryBatch, changed = 0) => {
        const envelope = envelopeOf(redacted, traceId);
        for (const route of routes) route.runner.push(envelope);
        this.telemetryCounts.routed += routes.length;
        this.telemetryCounts.redacted += changed;
      };
      try {
        if (!policy) {
          push(batch);
          continue;
        }
        const ready = redactTelemetry(batch, policy, this.#secrets, this.#redaction?.mask);
        if (!(ready instanceof Promise)) {
          push(ready.batch, ready.changed);
          continue;
        }
        const done = ready.then((r) => push(r.batch, r.changed)).catch((error) => {
          for (const route of routes) {
            route.runner.drop(probe, `it could not be redacted: ${messageOf(error)}`);
          }
        }).finally(() => this.#pending.delete(done));
        this.#pending.add(done);
      } catch (error) {
        for (const route of routes) {
          route.runner.drop(probe, `it could not be redacted: ${messageOf(error)}`);
        }
      }
    }
  }

  /**
   * Resolves once everything emitted before the call is committed to every
   * sink's write-ahead log (asynchronous redactions included): what OTLP
   * ingest waits for before it answers, so an accepted export survives a
   * crash.
   */
  async durable(): Promise<void> {
    await Promise.allSettled([...this.#pending]);
    await Promise.all(this.#routes.map((r) => r.runner.durable()));
  }

  /** Emits a `gateway_error` event about `source` (never routed back to it). */
  gatewayError(source: string, message: string, code: string): void {
    const now = Date.now();
    const id = randomUuid();
    this.emit({
      schema_version: 1,
      request_id: id,
      call_id: id,
      id,
      trace_id: randomHex(16),
      span_id: randomHex(8),
      call_type: "gateway_error",
      stream: false,
      status: "failure",
      start_time: now,
      end_time: now,
      response_time_ms: 0,
      prompt_tokens: 0,
      completion_tokens: 0,
      total_tokens: 0,
      metadata: { tags: [], request: {} },
      error: { status: 500, code, class: "GatewayError", message },
      source,
    }, DEFAULT_CONTROLS);
  }

  /** Where the event of `requestId` stands with each sink. */
  deliveryOf(requestId: string): CallDelivery[] {
    return this.#routes.map((r) => ({
      sink: r.name,
      state: r.runner.deliveryOf(requestId) ?? "unknown",
      lastError: r.runner.lastError || undefined,
    }));
  }

  /** Each sink's numbers, for `/metrics`. */
  snapshot(): SinkSnapshot[] {
    return this.#routes.map((r) => ({
      name: r.name,
      counters: { ...r.runner.counters },
      queueDepth: r.runner.queueDepth,
      spoolSize: r.runner.spoolSize,
      circuitOpen: r.runner.circuitOpen,
      spoolBytes: r.runner.spoolBytes,
      lastError: r.runner.lastError || undefined,
    }));
  }

  /** Delivers what it can before the deadline, spools the rest, closes the sinks. */
  async close(deadlineMs = 10_000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const deadline = Date.now() + deadlineMs;
    await Promise.allSettled(this.#pending);
    await Promise.all(this.#routes.map((r) => r.runner.stop(deadline)));
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
