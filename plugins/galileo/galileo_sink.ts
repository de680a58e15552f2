/**
 * The Galileo sink: LLM call records for evaluation, through the API-key
 * flow (v2 traces or spans) or the legacy username/password flow (Observe
 * ingest with a bearer token from `/login`).
 * @module
 */
import type { LogEvent, PluginContext, Sink } from "@sluice/core/plugin";
import denoJson from "./deno.json" with { type: "json" };
import {
  classify,
  DEFAULT_RATE_LIMIT_WAIT_MS,
  displayUrl,
  failureError,
  type FailureWords,
  fetchFailure,
  type HttpFailure,
  secretScrubber,
  sinkError,
} from "@sluice/core/sink-http";
import {
  galileoTraceUuid,
  toGalileoSpan,
  toGalileoTrace,
  toObserveRecord,
} from "./galileo_records.ts";
import {
  DEFAULT_BASE_URL,
  type GalileoConfig,
  type GalileoIngest,
  parseGalileoConfig,
} from "./config.ts";

/** Environment variables the plugin reads (declared in its `permissions.env`). */
export const GALILEO_ENV: readonly string[] = [
  "GALILEO_BASE_URL",
  "GALILEO_PROJECT_ID",
  "GALILEO_API_KEY",
  "GALILEO_USERNAME",
  "GALILEO_PASSWORD",
  "GALILEO_LOG_STREAM_ID",
];

/** The wait after a 429 without a readable `Retry-After` (`@sluice/core/sink-http`'s default). */
export const DEFAULT_RETRY_AFTER_MS: number = DEFAULT_RATE_LIMIT_WAIT_MS;

/** Which flow a sink uses. */
export type GalileoFlow = "api_key" | "login";

/** A galileo {@link Sink} that says which flow it uses. */
export interface GalileoSink extends Sink {
  /** `api_key` (v2 ingestion with `Galileo-API-Key`) or `login` (legacy Observe). */
  readonly flow: GalileoFlow;
}

type Credentials =
  | { flow: "api_key"; apiKey: string }
  | { flow: "login"; username: string; password: string };

interface Settings {
  base: URL;
  projectId: string;
  credentials: Credentials;
  logStreamId?: string;
  ingest: GalileoIngest;
  timeoutMs: number;
}

function nonBlank(value: string | undefined): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

function credentialsFrom(
  apiKey: string | undefined,
  username: string | undefined,
  password: string | undefined,
  where: string,
): Credentials | undefined {
  if (apiKey) return { flow: "api_key", apiKey };
  if (username && password) return { flow: "login", username, password };
  if (username || password) {
    throw new Error(
      `galileo: ${where} sets ${
        username ? "a username but no password" : "a password but no username"
      }; ` +
        "the legacy flow needs both (or use an API key)",
    );
  }
  return undefined;
}

/** Resolves the sink's settings from config and environment (throws on a config it refuses). */
export function resolveSettings(
  input: GalileoConfig,
  env: (name: string) => string | undefined,
): Settings {
  const config = parseGalileoConfig(input);
  const baseText = nonBlank(config.base_url) ?? nonBlank(env("GALILEO_BASE_URL")) ??
    DEFAULT_BASE_URL;
  let base: URL;
  try {
    base = new URL(baseText);
  } catch {
    throw new Error(
      `galileo: base_url must be an absolute http(s) URL; got ${displayUrl(baseText)}`,
    );
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") {
    throw new Error(`galileo: base_url must use http or https; got ${base.protocol}`);
  }
  base.search = "";
  base.hash = "";
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  const projectId = nonBlank(config.project_id) ?? nonBlank(env("GALILEO_PROJECT_ID"));
  if (!projectId) {
    throw new Error(
      "galileo: no project id; set GALILEO_PROJECT_ID or this sink's config.project_id",
    );
  }
  const credentials = credentialsFrom(
    nonBlank(config.api_key),
    nonBlank(config.username),
    config.password || undefined,
    "config",
  ) ??
    credentialsFrom(
      nonBlank(env("GALILEO_API_KEY")),
      nonBlank(env("GALILEO_USERNAME")),
      env("GALILEO_PASSWORD") || undefined,
      "the environment",
    );
  if (!credentials) {
    throw new Error(
      "galileo: no credentials; set GALILEO_API_KEY (or config.api_key), or GALILEO_USERNAME " +
        "and GALILEO_PASSWORD (or config.username and config.password) for the legacy flow",
    );
  }
  return {
    base,
    projectId,
    credentials,
    logStreamId: nonBlank(config.log_stream_id) ?? nonBlank(env("GALILEO_LOG_STREAM_ID")),
    ingest: config.ingest,
    timeoutMs: config.timeout_ms,
  };
}

/** Remembers request ids delivered by a batch that failed as a whole, so its retry skips them. */
const MAX_PARTIAL = 10_000;

/**
 * Creates a galileo sink. The flow follows the credentials: an API key
 * (config, else `GALILEO_API_KEY`) selects the API-key flow; a username and
 * password (config, else the environment) the legacy flow. Config wins over
 * the environment.
 *
 * API-key flow, header `Galileo-API-Key`, body with `log_stream_id` (if
 * set), `logging_method: "api_direct"` and `reliable: true` (Galileo
 * answers once the records are stored, so a resolved `log` means
 * delivered):
 * - `ingest: traces` (default): one `POST {base}/v2/projects/{id}/traces`
 *   per batch, each call a trace holding its LLM span;
 * - `ingest: spans`: `POST {base}/v2/projects/{id}/spans`, whose body takes
 *   one `trace_id`/`parent_id` per request, so one request per distinct
 *   trace in the batch (calls of one trace share a request).
 *
 * Legacy flow: `POST {base}/login` (form-encoded) for a bearer token,
 * cached; then one `POST {base}/projects/{id}/observe/ingest` with
 * `{records: […]}` per batch. A 401 on ingest logs in again once and
 * retries the batch.
 *
 * Successes and failures are sent alike (failures with the client's status
 * code and the error in `user_metadata`); `gateway_error` events are not
 * LLM calls and are skipped. Answers (`@sluice/core/sink-http`'s
 * `classify`): 2xx delivered; 400/413/422 on ingest `permanent`; 429
 * retried after `Retry-After`; 401/403/404, redirects and a failed login
 * retried with a clear message (events kept); anything else retried. The
 * API key, password and token never appear in a message.
 *
 * @param config The sink's config (each key falls back to its variable).
 * @param ctx The plugin context (`fetch`, `env`, `logger`).
 * @returns The sink.
 * @throws {Error} naming the plugin when the project id or credentials are missing or a setting is invalid.
 *
 * @example
 * ```ts
 * import { createGalileoSink } from "@sluice/galileo";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, () => Response.json({}));
 * const sink = createGalileoSink({
 *   base_url: `http://127.0.0.1:${server.addr.port}`,
 *   project_id: "9b6e1c2a-0f4d-4c55-9b1e-2f8d3c4a5b6e",
 *   api_key: "gal-test",
 * }, createTestContext());
 * await sink.log(sampleEvents(3)); // one POST /v2/projects/…/traces with 3 traces
 * await server.shutdown();
 * ```
 */
export function createGalileoSink(
  config: GalileoConfig,
  ctx: Pick<PluginContext, "fetch" | "env" | "logger">,
): GalileoSink {
  const settings = resolveSettings(config, (name) => ctx.env(name));
  const { base, credentials, timeoutMs } = settings;
  const project = encodeURIComponent(settings.projectId);
  const secret = credentials.flow === "api_key" ? credentials.apiKey : credentials.password;
  let token: string | undefined;
  /** Removes the API key or password, and the bearer token once there is one. */
  const scrub = (text: string) => secretScrubber([secret, token])(text);
  const userAgent = `sluice-galileo/${denoJson.version}`;

  async function send(url: URL, init: RequestInit, label: string): Promise<Response> {
    try {
      return await ctx.fetch(url, { ...init, method: "POST", redirect: "manual", timeoutMs });
    } catch (error) {
      throw fetchFailure(error, `galileo: ${label}`, timeoutMs, scrub);
    }
  }

  const words: FailureWords = {
    credentials: credentials.flow === "api_key"
      ? "check the API key (GALILEO_API_KEY or config.api_key)"
      : "check the username and password (GALILEO_USERNAME/GALILEO_PASSWORD or config)",
    url: "check the base URL and project id (GALILEO_BASE_URL, GALILEO_PROJECT_ID)",
    redirect: "set base_url to the final address",
  };

  /** The contract's error for a non-2xx answer to `label`. */
  function answerError(res: Response, outcome: HttpFailure, label: string, count?: number) {
    const answered = `galileo: ${label} answered ${res.status}${
      res.statusText ? ` ${res.statusText}` : ""
    }`;
    return failureError(outcome, answered, {
      ...words,
      refused: `Galileo refused these ${count} records`,
    }, scrub);
  }

  /** Settles an ingest answer: resolves on 2xx, else throws the contract's error. */
  async function settle(res: Response, label: string, count: number): Promise<void> {
    await res.body?.cancel().catch(() => {});
    const outcome = classify(res);
    if (outcome.kind !== "ok") throw answerError(res, outcome, label, count);
  }

  const calls = (events: readonly LogEvent[]) =>
    events.filter((e) => e.call_type !== "gateway_error");

  if (credentials.flow === "api_key") {
    const headers = {
      "content-type": "application/json",
      accept: "application/json",
      "galileo-api-key": credentials.apiKey,
      "user-agent": userAgent,
    };
    const common = () => ({
      ...(settings.logStreamId ? { log_stream_id: settings.logStreamId } : {}),
      logging_method: "api_direct",
      reliable: true,
    });
    const partial = new Set<string>();

    const post = async (url: URL, body: unknown, count: number) => {
      const label = `POST ${displayUrl(url)}`;
      await settle(await send(url, { headers, body: JSON.stringify(body) }, label), label, count);
    };

    return {
      flow: "api_key",
      async log(events) {
        const batch = calls(events);
        if (batch.length === 0) return;
        if (settings.ingest === "traces") {
          const url = new URL(`v2/projects/${project}/traces`, base);
          await post(url, { ...common(), traces: batch.map(toGalileoTrace) }, batch.length);
          return;
        }
        const url = new URL(`v2/projects/${project}/spans`, base);
        const byTrace = new Map<string, LogEvent[]>();
        for (const event of batch) {
          const group = byTrace.get(event.trace_id) ?? [];
          group.push(event);
          byTrace.set(event.trace_id, group);
        }
        for (const [traceId, group] of byTrace) {
          if (group.every((e) => partial.has(e.request_id))) continue; // sent by an earlier attempt
          const id = galileoTraceUuid(traceId);
          await post(url, {
            ...common(),
            trace_id: id,
            parent_id: id,
            spans: group.map(toGalileoSpan),
          }, group.length);
          if (partial.size + group.length > MAX_PARTIAL) partial.clear();
          for (const e of group) partial.add(e.request_id);
        }
        for (const e of batch) partial.delete(e.request_id);
      },
    };
  }

  // Legacy flow: login for a bearer token, then Observe ingest.
  if (config?.log_stream_id !== undefined || config?.ingest !== undefined) {
    ctx.logger.warn(
      "log_stream_id and ingest apply to the API-key flow only; the legacy flow ignores them",
    );
  }
  const loginUrl = new URL("login", base);
  const ingestUrl = new URL(`projects/${project}/observe/ingest`, base);
  let loggingIn: Promise<string> | undefined;

  async function login(): Promise<string> {
    const label = `login at ${displayUrl(loginUrl)}`;
    const res = await send(loginUrl, {
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
        "user-agent": userAgent,
      },
      body: new URLSearchParams({
        username: credentials.flow === "login" ? credentials.username : "",
        password: credentials.flow === "login" ? credentials.password : "",
      }).toString(),
    }, label);
    const outcome = classify(res);
    if (outcome.kind !== "ok") {
      await res.body?.cancel().catch(() => {});
      // Never permanent: a refused login says nothing about the events.
      throw answerError(
        res,
        outcome.kind === "permanent"
          ? { kind: "keep", status: outcome.status, reason: "credentials" }
          : outcome,
        label,
      );
    }
    const body = await res.json().catch(() => undefined) as { access_token?: unknown } | undefined;
    if (typeof body?.access_token !== "string" || body.access_token === "") {
      throw sinkError(
        `galileo: ${label} answered ${res.status} without an access_token; check GALILEO_BASE_URL`,
      );
    }
    return body.access_token;
  }

  /** The cached token, or a fresh one (concurrent callers share one login). */
  async function bearer(): Promise<string> {
    if (token) return token;
    loggingIn ??= login().finally(() => (loggingIn = undefined));
    token = await loggingIn;
    return token;
  }

  const ingest = (records: unknown[], bearerToken: string) =>
    send(ingestUrl, {
      headers: {
        "content-type": "application/json",
        accept: "application/json",
        authorization: `Bearer ${bearerToken}`,
        "user-agent": userAgent,
      },
      body: JSON.stringify({ records }),
    }, `POST ${displayUrl(ingestUrl)}`);

  return {
    flow: "login",
    async log(events) {
      const batch = calls(events);
      if (batch.length === 0) return;
      const records = batch.map(toObserveRecord);
      let used = await bearer();
      let res = await ingest(records, used);
      if (res.status === 401) {
        // The token expired or was revoked: log in again, once.
        await res.body?.cancel().catch(() => {});
        if (token === used) token = undefined;
        ctx.logger.info("Galileo answered 401 to a cached token; logging in again");
        used = await bearer();
        res = await ingest(records, used);
        if (res.status === 401 && token === used) token = undefined;
      }
      await settle(res, `POST ${displayUrl(ingestUrl)}`, records.length);
    },
  };
}
