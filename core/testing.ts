/**
 * A conformance kit for plugin authors: realistic sample events, a test
 * {@link PluginContext}, and {@link checkHttpSinkConformance}, which runs an
 * HTTP sink against a scripted receiver on 127.0.0.1 and reports how it
 * handles success, retryable, rate-limited, permanent and credential
 * failures.
 *
 * It imports only the plugin contract's types and web/Deno APIs, so it works
 * inside any test runner (`Deno.test`, `node:test`, Vitest, …).
 *
 * @example Check an HTTP sink in a test
 * ```ts
 * import { assertConformance, checkHttpSinkConformance } from "@sluice/core/testing";
 * import type { PluginDefinition } from "@sluice/core/plugin";
 *
 * const plugin: PluginDefinition<{ url: string }> = {
 *   name: "post-json",
 *   version: "1.0.0",
 *   apiVersion: 1,
 *   create: (config, ctx) => ({
 *     async log(events) {
 *       const res = await ctx.fetch(config.url, { method: "POST", body: JSON.stringify(events) });
 *       await res.body?.cancel();
 *       if (res.ok) return;
 *       const retryAfter = Number(res.headers.get("retry-after") ?? "1");
 *       throw Object.assign(new Error(`receiver answered ${res.status}`), {
 *         permanent: [400, 413, 422].includes(res.status),
 *         retryAfterMs: res.status === 429 ? retryAfter * 1000 : undefined,
 *       });
 *     },
 *   }),
 * };
 *
 * // inside a test (Deno.test, node:test, Vitest, …):
 * const report = await checkHttpSinkConformance(plugin, {
 *   config: (url) => ({ url }),
 *   eventsIn: (req) =>
 *     JSON.parse(new TextDecoder().decode(req.body)).map((e: { request_id: string }) =>
 *       e.request_id
 *     ),
 * });
 * assertConformance(report); // throws, listing the failed checks
 * ```
 * @module
 */
import type {
  LogEvent,
  PluginContext,
  PluginDefinition,
  PluginFetchInit,
  PluginLogger,
  PluginPermissions,
  Sink,
  SinkError,
  TelemetryBatch,
} from "./plugin.ts";

// ---------------------------------------------------------------------------
// Sample events

let sampleSequence = 0;

function randomHex(bytes: number): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A realistic successful chat {@link LogEvent}: every required field set,
 * fresh `request_id`, `call_id` and trace ids, timings ending about now
 * (or starting at `overrides.start_time`, with `end_time` and
 * `completion_start_time` following), usage, cost (gpt-4o-mini prices) and
 * key/team metadata. Each call returns a different event.
 *
 * @param overrides Fields to replace (shallow merge).
 * @returns A new event.
 *
 * @example
 * ```ts
 * import { sampleEvent } from "@sluice/core/testing";
 * const event = sampleEvent({ model_group: "claude-haiku", stream: true });
 * ```
 */
export function sampleEvent(overrides: Partial<LogEvent> = {}): LogEvent {
  const n = ++sampleSequence;
  const requestId = crypto.randomUUID();
  const promptTokens = 20 + (n % 17) * 3;
  const completionTokens = 40 + (n % 13) * 5;
  const input = promptTokens * 0.15e-6;
  const output = completionTokens * 0.6e-6;
  // Timings stay consistent when `start_time` or `response_time_ms` is overridden.
  const responseTime = overrides.response_time_ms ?? 300 + (n % 10) * 57;
  const start = overrides.start_time ?? Date.now() - responseTime;
  const end = start + responseTime;
  const event: LogEvent = {
    schema_version: 1,
    request_id: requestId,
    call_id: crypto.randomUUID(),
    id: `chatcmpl-${randomHex(12)}`,
    trace_id: randomHex(16),
    span_id: randomHex(8),
    call_type: "chat",
    stream: false,
    status: "success",
    model: "gpt-4o-mini-2024-07-18",
    model_group: "gpt-4o-mini",
    model_id: "3f2a9c1e",
    provider: "openai",
    api_base: "https://api.openai.com/v1",
    model_parameters: { temperature: 0.2, max_tokens: 256 },
    start_time: start,
    end_time: end,
    completion_start_time: start + Math.round(responseTime * 0.4),
    response_time_ms: responseTime,
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    response_cost: input + output,
    cost_breakdown: { input, output, cache_read: 0, cache_creation: 0 },
    metadata: {
      user_api_key_hash: randomHex(32),
      user_api_key_alias: "app-a",
      user_api_key_team: "team-a",
      user_api_key_user_id: "alice",
      end_user: `user-${n}`,
      requester_ip: "127.0.0.1",
      user_agent: "OpenAI/JS 5.0.0",
      tags: ["sample"],
      request: { session_id: `session-${n}`, generation_name: "greeting" },
    },
    messages: [
      { role: "system", content: "You are a terse assistant." },
      { role: "user", content: `Say hello (sample ${n}).` },
    ],
    response: { role: "assistant", content: `Hello! (sample ${n})` },
  };
  return { ...event, ...overrides };
}

/**
 * A realistic failed chat call (upstream 429 passed through): `status:
 * "failure"`, an `error`, no completion tokens and no cost.
 *
 * @param overrides Fields to replace (shallow merge).
 * @returns A new event.
 *
 * @example
 * ```ts
 * import { sampleFailureEvent } from "@sluice/core/testing";
 * const event = sampleFailureEvent({ error: { status: 502, code: "upstream_error", class: "UpstreamError", message: "bad gateway" } });
 * ```
 */
export function sampleFailureEvent(overrides: Partial<LogEvent> = {}): LogEvent {
  const base = sampleEvent(overrides);
  const event: LogEvent = {
    ...base,
    status: "failure",
    completion_start_time: undefined,
    completion_tokens: 0,
    total_tokens: base.prompt_tokens,
    response_cost: undefined,
    cost_breakdown: undefined,
    response: undefined,
    error: {
      status: 429,
      code: "rate_limit_exceeded",
      class: "RateLimitError",
      message: "Rate limit reached for gpt-4o-mini; try again in 2s.",
      provider: "openai",
    },
  };
  return { ...event, ...overrides };
}

/**
 * A gateway-internal failure event (`call_type: "gateway_error"`): `source`
 * names the sink concerned; no model, key or usage fields.
 *
 * @param overrides Fields to replace (shallow merge).
 * @returns A new event.
 *
 * @example
 * ```ts
 * import { sampleGatewayErrorEvent } from "@sluice/core/testing";
 * const event = sampleGatewayErrorEvent({ source: "langfuse" });
 * ```
 */
export function sampleGatewayErrorEvent(overrides: Partial<LogEvent> = {}): LogEvent {
  const requestId = crypto.randomUUID();
  const end = overrides.start_time ?? Date.now();
  const event: LogEvent = {
    schema_version: 1,
    request_id: requestId,
    call_id: requestId,
    id: requestId,
    trace_id: randomHex(16),
    span_id: randomHex(8),
    call_type: "gateway_error",
    stream: false,
    status: "failure",
    start_time: end,
    end_time: end,
    response_time_ms: 0,
    prompt_tokens: 0,
    completion_tokens: 0,
    total_tokens: 0,
    metadata: { tags: [], request: {} },
    error: {
      status: 500,
      code: "sink_failed",
      class: "SinkError",
      message: "sink 'webhook' dropped a batch of 3 events: receiver answered 400",
    },
    source: "webhook",
  };
  return { ...event, ...overrides };
}

/**
 * `n` distinct successful events ({@link sampleEvent}) with ascending start
 * times, as a batch a sink would receive.
 *
 * @param n How many events.
 * @param overrides Fields to replace in every event.
 * @returns The events.
 *
 * @example
 * ```ts
 * import { sampleEvents } from "@sluice/core/testing";
 * const batch = sampleEvents(10);
 * ```
 */
export function sampleEvents(n: number, overrides: Partial<LogEvent> = {}): LogEvent[] {
  const events: LogEvent[] = [];
  for (let i = 0; i < n; i++) {
    const event = sampleEvent(overrides);
    const shift = (n - 1 - i) * 1000;
    events.push({
      ...event,
      start_time: event.start_time - shift,
      end_time: event.end_time - shift,
      completion_start_time: event.completion_start_time === undefined
        ? undefined
        : event.completion_start_time - shift,
      ...overrides,
    });
  }
  return events;
}

/**
 * A small telemetry batch as `exportTelemetry` receives it: one resource
 * with a GenAI chat span (usage, `sluice.cost.usd`) and a tool span under
 * it, in the OTLP/JSON shape, with fresh ids.
 *
 * @example
 * ```ts
 * import { sampleTelemetry } from "@sluice/core/testing";
 * const batch = sampleTelemetry();
 * console.log(batch.signal); // "traces"
 * ```
 */
export function sampleTelemetry(): TelemetryBatch {
  const hex = (n: number) =>
    Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => b.toString(16).padStart(2, "0"))
      .join("");
  const traceId = hex(16);
  const chatId = hex(8);
  const start = BigInt(Date.now() - 1000) * 1_000_000n;
  const text = (key: string, value: string) => ({ key, value: { stringValue: value } });
  const int = (key: string, value: number) => ({ key, value: { intValue: String(value) } });
  return {
    signal: "traces",
    request: {
      resourceSpans: [{
        resource: { attributes: [text("service.name", "sample-app")] },
        scopeSpans: [{
          scope: { name: "sample-app", version: "1.0.0" },
          spans: [{
            traceId,
            spanId: chatId,
            name: "chat gpt-4o-mini",
            kind: 3,
            startTimeUnixNano: String(start),
            endTimeUnixNano: String(start + 800_000_000n),
            attributes: [
              text("gen_ai.operation.name", "chat"),
              text("gen_ai.provider.name", "openai"),
              text("gen_ai.request.model", "gpt-4o-mini"),
              int("gen_ai.usage.input_tokens", 120),
              int("gen_ai.usage.output_tokens", 30),
              { key: "sluice.cost.usd", value: { doubleValue: 0.000036 } },
            ],
            status: { code: 1 },
          }, {
            traceId,
            spanId: hex(8),
            parentSpanId: chatId,
            name: "execute_tool lookup",
            kind: 1,
            startTimeUnixNano: String(start + 100_000_000n),
            endTimeUnixNano: String(start + 200_000_000n),
            attributes: [text("gen_ai.tool.name", "lookup")],
          }],
        }],
      }],
    },
  };
}

// ---------------------------------------------------------------------------
// Test context

/** One line a plugin logged through a test context's logger. */
export interface TestLogEntry {
  /** The logger method called. */
  level: "debug" | "info" | "warn" | "error";
  /** The message. */
  message: string;
  /** The structured data, if any. */
  data?: Record<string, unknown>;
}

/** Options of {@link createTestContext}. */
export interface TestContextOptions {
  /** Environment the plugin may read; `env(name)` also requires the name in `permissions.env`. */
  env?: Record<string, string>;
  /**
   * The plugin's permissions (pass `plugin.permissions`; a function is
   * called with `config` and `env`); only `env` is enforced.
   */
  permissions?:
    | PluginPermissions
    | ((config: never, env: (name: string) => string | undefined) => PluginPermissions);
  /** The config a `permissions` function is called with. */
  config?: unknown;
  /** `ctx.gatewayVersion` (default `"0.0.0-test"`). */
  gatewayVersion?: string;
  /** `ctx.instanceName` (default `"test"`). */
  instanceName?: string;
  /** Timeout of `ctx.fetch` when the call sets no `timeoutMs` (default 10,000 ms). */
  fetchTimeoutMs?: number;
  /** The `fetch` under `ctx.fetch` (default: the global `fetch`). */
  fetch?: typeof fetch;
}

/** A {@link PluginContext} with its captured log lines and its abort controller. */
export interface TestContext extends PluginContext {
  /** Every line logged through `ctx.logger`, in order. */
  logs: TestLogEntry[];
  /** Aborts `ctx.signal` (and pending `ctx.fetch` calls), as a gateway shutdown does. */
  controller: AbortController;
}

/**
 * Creates a {@link PluginContext} for tests: the logger captures lines into
 * `logs`, `fetch` applies `timeoutMs` and aborts with `controller`, and
 * `env(name)` reads `options.env` for names declared in
 * `options.permissions.env` only and logs a warning once for any other name
 * (as the gateway does).
 *
 * @param options Environment, permissions and names.
 * @returns The context.
 *
 * @example
 * ```ts
 * import { createTestContext } from "@sluice/core/testing";
 * const ctx = createTestContext({ env: { API_KEY: "k" }, permissions: { env: ["API_KEY"] } });
 * ctx.env("API_KEY"); // "k"
 * ctx.env("HOME"); // undefined: not declared
 * ctx.logger.info("hello");
 * ctx.logs; // [{ level: "warn", message: 'ctx.env("HOME") returned undefined: …' }, { level: "info", message: "hello" }]
 * ```
 */
export function createTestContext(options: TestContextOptions = {}): TestContext {
  const logs: TestLogEntry[] = [];
  const controller = new AbortController();
  const env = options.env ?? {};
  const declared = options.permissions;
  const permissions = typeof declared === "function"
    ? (declared as (
      config: unknown,
      env: (name: string) => string | undefined,
    ) => PluginPermissions)(
      options.config ?? {},
      (name) => env[name],
    )
    : declared;
  const allowedEnv = new Set(permissions?.env ?? []);
  const warnedEnv = new Set<string>();
  const baseFetch = options.fetch ?? fetch;
  const defaultTimeout = options.fetchTimeoutMs ?? 10_000;
  const log =
    (level: TestLogEntry["level"]) => (message: string, data?: Record<string, unknown>) => {
      logs.push({ level, message, data });
    };
  const logger: PluginLogger = {
    debug: log("debug"),
    info: log("info"),
    warn: log("warn"),
    error: log("error"),
  };
  return {
    logs,
    controller,
    logger,
    signal: controller.signal,
    gatewayVersion: options.gatewayVersion ?? "0.0.0-test",
    instanceName: options.instanceName ?? "test",
    env(name: string): string | undefined {
      if (allowedEnv.has(name)) return Object.hasOwn(env, name) ? env[name] : undefined;
      if (!warnedEnv.has(name)) {
        warnedEnv.add(name);
        logger.warn(
          `ctx.env("${name}") returned undefined: the variable is not granted to this plugin`,
        );
      }
      return undefined;
    },
    fetch(input: string | URL | Request, init: PluginFetchInit = {}): Promise<Response> {
      const { timeoutMs = defaultTimeout, ...rest } = init;
      const signals = [controller.signal, AbortSignal.timeout(timeoutMs)];
      if (rest.signal) signals.push(rest.signal);
      return baseFetch(input, { ...rest, signal: AbortSignal.any(signals) });
    },
  };
}

// ---------------------------------------------------------------------------
// HTTP sink conformance

/** A request the conformance receiver got. */
export interface ReceivedRequest {
  /** HTTP method. */
  method: string;
  /** Full URL, query string included. */
  url: string;
  /** Request headers. */
  headers: Headers;
  /** The raw body. */
  body: Uint8Array;
}

/** Options of {@link checkHttpSinkConformance}. */
export interface HttpSinkConformanceOptions<Config> {
  /** The plugin config pointing at the kit's receiver (`http://127.0.0.1:<port>/sluice-conformance`). */
  config: (receiverUrl: string) => Config;
  /** The `request_id`s a received request carried, so the kit can count events. */
  eventsIn: (request: ReceivedRequest) => string[] | Promise<string[]>;
  /** Events per batch (default 3). */
  batchSize?: number;
  /**
   * The events of one batch (default {@link sampleEvents}); a sink that only
   * takes failures passes e.g. `(n) => Array.from({ length: n }, () => sampleFailureEvent())`.
   */
  events?: (n: number) => LogEvent[];
  /** Environment for `ctx.env` (names must be in `plugin.permissions.env`). */
  env?: Record<string, string>;
  /** The receiver's success answer (default: 200 with `{}`), for sinks that read it. */
  okResponse?: (request: ReceivedRequest) => Response | Promise<Response>;
  /** How long one `log`, `flush` or `close` may take before the check fails (default 5,000 ms). */
  timeoutMs?: number;
}

/** The outcome of one conformance check. */
export interface ConformanceCheck {
  /** What was checked (one of {@link HTTP_SINK_CHECKS}, or `"create"` if the sink could not be created). */
  name: string;
  /** Whether the sink behaved as the contract requires. */
  ok: boolean;
  /** What happened, in a sentence. */
  detail: string;
}

/** The outcome of a conformance run. */
export interface ConformanceReport {
  /** Every check passed. */
  ok: boolean;
  /** Each check, in order. */
  checks: ConformanceCheck[];
}

/** The names of the checks {@link checkHttpSinkConformance} runs, in order. */
export const HTTP_SINK_CHECKS: {
  readonly delivers: string;
  readonly retryable5xx: string;
  readonly retryAfter: string;
  readonly receiverDown: string;
  readonly permanent4xx: string;
  readonly credentials4xx: string;
  readonly retrySucceeds: string;
  readonly telemetry: string;
  readonly flushClose: string;
} = {
  delivers: "delivers a batch",
  retryable5xx: "503 is retryable",
  retryAfter: "429 Retry-After sets retryAfterMs",
  receiverDown: "receiver down is retryable",
  permanent4xx: "400, 413 and 422 are permanent",
  credentials4xx: "401, 403 and 404 are not permanent",
  retrySucceeds: "a retry after failures succeeds",
  telemetry: "exportTelemetry, if present, delivers and fails like log",
  flushClose: "flush and close resolve",
};

interface Scripted {
  status: number;
  headers?: Record<string, string>;
}

interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  answer(script: Scripted): void;
  close(): Promise<void>;
}

function startReceiver(okResponse?: HttpSinkConformanceOptions<unknown>["okResponse"]): Receiver {
  const requests: ReceivedRequest[] = [];
  let script: Scripted = { status: 200 };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const received: ReceivedRequest = {
      method: req.method,
      url: req.url,
      headers: req.headers,
      body: new Uint8Array(await req.arrayBuffer()),
    };
    requests.push(received);
    if (script.status >= 200 && script.status < 300) {
      if (okResponse) return await okResponse(received);
      return Response.json({}, { status: script.status, headers: script.headers });
    }
    return Response.json(
      { error: { message: `conformance receiver answers ${script.status}` } },
      { status: script.status, headers: script.headers },
    );
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/sluice-conformance`,
    requests,
    answer(next) {
      script = next;
    },
    async close() {
      await server.shutdown();
    },
  };
}

/** A port on 127.0.0.1 where nothing listens (the listener was opened, then closed). */
function refusedUrl(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return `http://127.0.0.1:${port}/sluice-conformance`;
}

type Outcome =
  | { kind: "resolved" }
  | { kind: "rejected"; error: unknown }
  | { kind: "timeout" };

async function within(
  timeoutMs: number,
  run: () => Promise<unknown> | unknown,
): Promise<Outcome> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "timeout" }), timeoutMs);
  });
  const attempt = Promise.resolve()
    .then(run)
    .then((): Outcome => ({ kind: "resolved" }), (error): Outcome => ({ kind: "rejected", error }));
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function errorProps(error: unknown): { permanent?: unknown; retryAfterMs?: unknown } {
  if (typeof error !== "object" || error === null) return {};
  const e = error as SinkError;
  return { permanent: e.permanent, retryAfterMs: e.retryAfterMs };
}

function describeError(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const { permanent, retryAfterMs } = errorProps(error);
  const props = [
    permanent !== undefined ? `permanent: ${permanent}` : "",
    retryAfterMs !== undefined ? `retryAfterMs: ${retryAfterMs}` : "",
  ].filter(Boolean).join(", ");
  return props ? `${text} (${props})` : text;
}

function describeOutcome(outcome: Outcome, timeoutMs: number): string {
  switch (outcome.kind) {
    case "resolved":
      return "resolved";
    case "timeout":
      return `did not settle within ${timeoutMs} ms`;
    case "rejected":
      return `rejected with ${describeError(outcome.error)}`;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

/**
 * What a plugin asks for with `config`: its fixed `permissions`, or what its
 * `permissions(config, env)` function returns (reading `env` as given).
 *
 * @example
 * ```ts
 * import { resolvePermissions } from "@sluice/core/testing";
 * import plugin from "@sluice/webhook";
 *
 * resolvePermissions(plugin, { url: "https://hooks.example.com/in" }).net; // ["hooks.example.com"]
 * ```
 */
export function resolvePermissions<Config>(
  plugin: PluginDefinition<Config>,
  config: Config,
  env: Record<string, string> = {},
): PluginPermissions {
  const declared = plugin.permissions;
  return typeof declared === "function" ? declared(config, (name) => env[name]) : declared ?? {};
}

/**
 * Runs an HTTP sink plugin against a receiver on 127.0.0.1 whose answer the
 * kit scripts per check, and reports each check:
 *
 * 1. delivers a batch: `log(batch)` resolves and the receiver got exactly
 *    the batch's `request_id`s;
 * 2. 503: `log` rejects, not `permanent`;
 * 3. 429 with `Retry-After: 2`: rejects, not `permanent`, `retryAfterMs` ≈ 2000;
 * 4. receiver down (connection refused; a second sink instance whose URL's
 *    listener was closed): rejects, not `permanent`;
 * 5. 400, 413, 422: reject with `permanent: true`;
 * 6. 401, 403, 404: reject without `permanent`;
 * 7. after failures (503, then 429), a retry of the same batch succeeds and
 *    delivers exactly that batch;
 * 8. `flush()` and `close()` resolve (when the sink has them).
 *
 * Batches are deep-frozen: the gateway shares one event between sinks, so a
 * sink that mutates events fails. Every `log`, `flush` and `close` is
 * bounded by `options.timeoutMs`. The kit never throws for a misbehaving
 * sink: pass the report to {@link assertConformance} in a test.
 *
 * @param plugin The plugin definition (its default export).
 * @param options How to configure it and how to count the events in a request.
 * @returns The report.
 *
 * @example
 * ```ts
 * import { assertConformance, checkHttpSinkConformance } from "@sluice/core/testing";
 * import plugin from "@sluice/webhook";
 *
 * const report = await checkHttpSinkConformance(plugin, {
 *   config: (url) => ({ url }),
 *   eventsIn: (req) =>
 *     JSON.parse(new TextDecoder().decode(req.body)).map((e: { request_id: string }) =>
 *       e.request_id
 *     ),
 * });
 * for (const check of report.checks) console.log(check.ok ? "ok  " : "FAIL", check.name, check.detail);
 * assertConformance(report);
 * ```
 */
export async function checkHttpSinkConformance<Config>(
  plugin: PluginDefinition<Config>,
  options: HttpSinkConformanceOptions<Config>,
): Promise<ConformanceReport> {
  const batchSize = options.batchSize ?? 3;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const receiver = startReceiver(options.okResponse);
  const permissions = resolvePermissions(plugin, options.config(receiver.url), options.env);
  const ctx = createTestContext({ env: options.env, permissions, instanceName: plugin.name });
  const checks: ConformanceCheck[] = [];
  try {
    let sink: Sink;
    try {
      sink = await plugin.create(options.config(receiver.url), ctx);
    } catch (error) {
      checks.push({ name: "create", ok: false, detail: `create() threw ${describeError(error)}` });
      return { ok: false, checks };
    }

    const batch = () => deepFreeze((options.events ?? sampleEvents)(batchSize));

    /** Sends `events` with the receiver answering `script`. */
    const send = async (events: readonly LogEvent[], script: Scripted) => {
      receiver.answer(script);
      receiver.requests.length = 0;
      const outcome = await within(timeoutMs, () => sink.log(events));
      return { outcome, requests: receiver.requests.length };
    };

    /** Compares the request_ids the receiver got with the batch's. */
    const delivered = async (events: readonly LogEvent[]): Promise<string | undefined> => {
      const got: string[] = [];
      for (const request of receiver.requests) got.push(...await options.eventsIn(request));
      const want = events.map((e) => e.request_id);
      const missing = want.filter((id) => !got.includes(id));
      const extra = got.filter((id) => !want.includes(id));
      const duplicates = got.length - new Set(got).size;
      if (!missing.length && !extra.length && !duplicates) return undefined;
      return [
        missing.length ? `missing ${missing.length} of ${want.length} events` : "",
        extra.length ? `${extra.length} unexpected request_ids` : "",
        duplicates ? `${duplicates} duplicates` : "",
      ].filter(Boolean).join(", ");
    };

    /** Expects a rejection with the given `permanent` verdict after a request reached the receiver. */
    const expectRejection = async (
      status: number,
      permanent: boolean,
    ): Promise<string | undefined> => {
      const { outcome, requests } = await send(batch(), { status });
      if (outcome.kind !== "rejected") {
        return `${status}: log ${describeOutcome(outcome, timeoutMs)}`;
      }
      if (requests === 0) return `${status}: rejected without sending a request`;
      const isPermanent = errorProps(outcome.error).permanent === true;
      if (isPermanent !== permanent) {
        return `${status}: ${permanent ? "not marked" : "marked"} permanent (${
          describeError(outcome.error)
        })`;
      }
      return undefined;
    };

    const run = async (name: string, body: () => Promise<string | undefined>, pass: string) => {
      try {
        const problem = await body();
        checks.push({ name, ok: problem === undefined, detail: problem ?? pass });
      } catch (error) {
        checks.push({
          name,
          ok: false,
          detail: `the check itself failed: ${describeError(error)}`,
        });
      }
    };

    // 1
    await run(HTTP_SINK_CHECKS.delivers, async () => {
      const events = batch();
      const { outcome, requests } = await send(events, { status: 200 });
      if (outcome.kind !== "resolved") return `log ${describeOutcome(outcome, timeoutMs)}`;
      const problem = await delivered(events);
      return problem && `log resolved but the receiver got ${requests} request(s): ${problem}`;
    }, `log(${batchSize} events) resolved and the receiver got exactly those request_ids`);

    // 2
    await run(
      HTTP_SINK_CHECKS.retryable5xx,
      () => expectRejection(503, false),
      "log rejected without permanent",
    );

    // 3
    await run(HTTP_SINK_CHECKS.retryAfter, async () => {
      const { outcome } = await send(batch(), { status: 429, headers: { "retry-after": "2" } });
      if (outcome.kind !== "rejected") return `log ${describeOutcome(outcome, timeoutMs)}`;
      const { permanent, retryAfterMs } = errorProps(outcome.error);
      if (permanent === true) return `marked permanent (${describeError(outcome.error)})`;
      if (typeof retryAfterMs !== "number" || Math.abs(retryAfterMs - 2000) > 500) {
        return `retryAfterMs is ${retryAfterMs}, expected about 2000 (${
          describeError(outcome.error)
        })`;
      }
      return undefined;
    }, "log rejected, not permanent, with retryAfterMs ≈ 2000");

    // 4
    await run(HTTP_SINK_CHECKS.receiverDown, async () => {
      const downCtx = createTestContext({
        env: options.env,
        permissions,
        instanceName: plugin.name,
      });
      const down = await plugin.create(options.config(refusedUrl()), downCtx);
      try {
        const outcome = await within(timeoutMs, () => down.log(batch()));
        if (outcome.kind !== "rejected") return `log ${describeOutcome(outcome, timeoutMs)}`;
        if (errorProps(outcome.error).permanent === true) {
          return `marked permanent (${describeError(outcome.error)})`;
        }
        return undefined;
      } finally {
        if (down.close) await within(timeoutMs, () => down.close?.());
        downCtx.controller.abort();
      }
    }, "log rejected without permanent on connection refused");

    // 5
    await run(HTTP_SINK_CHECKS.permanent4xx, async () => {
      const problems = [];
      for (const status of [400, 413, 422]) problems.push(await expectRejection(status, true));
      return problems.filter(Boolean).join("; ") || undefined;
    }, "each rejected with permanent: true");

    // 6
    await run(HTTP_SINK_CHECKS.credentials4xx, async () => {
      const problems = [];
      for (const status of [401, 403, 404]) problems.push(await expectRejection(status, false));
      return problems.filter(Boolean).join("; ") || undefined;
    }, "each rejected without permanent");

    // 7
    await run(HTTP_SINK_CHECKS.retrySucceeds, async () => {
      const events = batch();
      await send(events, { status: 503 });
      await send(events, { status: 429, headers: { "retry-after": "1" } });
      const { outcome, requests } = await send(events, { status: 200 });
      if (outcome.kind !== "resolved") {
        return `the retry after 503 and 429 ${describeOutcome(outcome, timeoutMs)}`;
      }
      const problem = await delivered(events);
      return problem &&
        `the retry resolved but the receiver got ${requests} request(s): ${problem}`;
    }, "after 503 and 429, the same batch was delivered in full");

    // 8
    const exportTelemetry = sink.exportTelemetry?.bind(sink);
    await run(
      HTTP_SINK_CHECKS.telemetry,
      async () => {
        if (!exportTelemetry) return undefined;
        const problems: string[] = [];
        for (const [status, want] of [[200, "ok"], [503, "retry"], [400, "permanent"]] as const) {
          receiver.answer({ status });
          receiver.requests.length = 0;
          const outcome = await within(timeoutMs, () => exportTelemetry(sampleTelemetry()));
          const sent = receiver.requests.length > 0;
          const got = outcome.kind === "resolved"
            ? "ok"
            : outcome.kind === "rejected"
            ? (errorProps(outcome.error).permanent === true ? "permanent" : "retry")
            : "timeout";
          if (!sent || got !== want) {
            problems.push(
              `${status}: ${sent ? "" : "no request sent; "}${
                describeOutcome(outcome, timeoutMs)
              }, expected ${want === "ok" ? "resolved" : `a ${want} rejection`}`,
            );
          }
        }
        return problems.join("; ") || undefined;
      },
      exportTelemetry
        ? "exportTelemetry resolved on 200, rejected retryable on 503 and permanent on 400"
        : "no exportTelemetry (the sink gets GenAI spans as events)",
    );

    // 9
    await run(HTTP_SINK_CHECKS.flushClose, async () => {
      receiver.answer({ status: 200 });
      const problems: string[] = [];
      for (const method of ["flush", "close"] as const) {
        if (!sink[method]) continue;
        const outcome = await within(timeoutMs, () => sink[method]?.());
        if (outcome.kind !== "resolved") {
          problems.push(`${method}() ${describeOutcome(outcome, timeoutMs)}`);
        }
      }
      return problems.join("; ") || undefined;
    }, "flush() and close() resolved (or are absent)");
    return { ok: checks.every((c) => c.ok), checks };
  } finally {
    ctx.controller.abort();
    await receiver.close();
  }
}

/**
 * Throws an Error listing the failed checks of a report; does nothing when
 * every check passed.
 *
 * @param report A report from {@link checkHttpSinkConformance}.
 *
 * @example
 * ```ts
 * import { assertConformance } from "@sluice/core/testing";
 * assertConformance({ ok: true, checks: [{ name: "delivers a batch", ok: true, detail: "" }] });
 * ```
 */
export function assertConformance(report: ConformanceReport): void {
  const failed = report.checks.filter((c) => !c.ok);
  if (report.ok && failed.length === 0) return;
  const lines = failed.map((c) => `  - ${c.name}: ${c.detail}`);
  throw new Error(
    `the sink failed ${failed.length} of ${report.checks.length} conformance checks:\n${
      lines.join("\n")
    }`,
  );
}

/**
 * Waits until `condition` holds, polling every 20 ms; throws after `ms`,
 * naming `what`. For tests that wait on an outcome rather than sleeping.
 *
 * @example
 * ```ts
 * import { until } from "@sluice/core/testing";
 * let delivered = false;
 * setTimeout(() => (delivered = true), 10);
 * await until(() => delivered, 1_000, "the delivery");
 * ```
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
