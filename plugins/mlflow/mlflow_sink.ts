/**
 * The mlflow sink: one MLflow trace per call, sent as OpenTelemetry spans
 * to the tracking server's OTLP endpoint (`POST {tracking URI}/v1/traces`,
 * protobuf, `x-mlflow-experiment-id`), MLflow 3.6 or later with a SQL
 * backend store.
 * @module
 */
import type { PluginContext, Sink, SinkLogResult } from "@sluice/core/plugin";
import {
  basicAuth,
  classify,
  displayUrl,
  errorDetail,
  failureError,
  type FailureWords,
  fetchFailure,
  type HttpOutcome,
  secretScrubber,
  sinkError,
} from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import { type MlflowConfig, parseMlflowConfig } from "./config.ts";
import { encodeTraceRequest } from "./otlp_protobuf.ts";
import { toMlflowSpan } from "./spans.ts";

/** Environment variables the plugin reads (declared in its `permissions.env`): MLflow's client's own. */
export const MLFLOW_ENV: readonly string[] = [
  "MLFLOW_TRACKING_URI",
  "MLFLOW_EXPERIMENT_ID",
  "MLFLOW_EXPERIMENT_NAME",
  "MLFLOW_TRACKING_TOKEN",
  "MLFLOW_TRACKING_USERNAME",
  "MLFLOW_TRACKING_PASSWORD",
];

/** MLflow's OTLP trace endpoint, below the tracking URI (MLflow 3.6+). */
export const OTLP_TRACES_PATH = "/v1/traces";

/** The header naming the experiment the spans go to. */
export const EXPERIMENT_HEADER = "x-mlflow-experiment-id";

/** MLflow's default experiment, where its client logs when no experiment is set. */
export const DEFAULT_EXPERIMENT_ID = "0";

/** What an mlflow sink resolved its config and environment to. */
export interface MlflowSettings {
  /** The tracking server's base URL (MLflow's REST API is below it). */
  trackingUrl: URL;
  /** `{tracking URL}/v1/traces`. */
  tracesUrl: URL;
  /** The experiment id, when given. */
  experimentId?: string;
  /** The experiment name to resolve, when no id is given. */
  experimentName?: string;
  /** The `Authorization` header (never shown), when credentials are set. */
  authorization?: string;
  /** Which credentials are used: basic (user and password), bearer (token) or none. */
  auth: "basic" | "bearer" | "none";
  /** Secret values, for scrubbing messages. */
  secrets: string[];
  /** Tags on every trace. */
  tags: Record<string, string>;
  /** Request timeout. */
  timeoutMs: number;
}

const nonBlank = (value: string | undefined): string | undefined =>
  typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;

/**
 * Resolves a sink's settings: config first, then MLflow's variables
 * (`MLFLOW_TRACKING_URI`, `MLFLOW_EXPERIMENT_ID`, `MLFLOW_EXPERIMENT_NAME`,
 * `MLFLOW_TRACKING_USERNAME`/`MLFLOW_TRACKING_PASSWORD`,
 * `MLFLOW_TRACKING_TOKEN`). As in MLflow's client, a user and password
 * win over a token; an experiment id wins over a name; with neither,
 * traces go to the default experiment `0`.
 *
 * @param input The sink's config.
 * @param env Reads an environment variable.
 * @returns The settings.
 * @throws {Error} naming the plugin when the tracking URI is missing or not http(s), or a setting is invalid.
 *
 * @example
 * ```ts
 * import { resolveMlflowSettings } from "@sluice/mlflow";
 * const env = (name: string) =>
 *   ({ MLFLOW_TRACKING_URI: "http://localhost:5000", MLFLOW_EXPERIMENT_NAME: "LiteLLM" })[name];
 * const settings = resolveMlflowSettings({}, env);
 * settings.tracesUrl.href; // "http://localhost:5000/v1/traces"
 * settings.experimentName; // "LiteLLM"
 * ```
 */
export function resolveMlflowSettings(
  input: MlflowConfig,
  env: (name: string) => string | undefined,
): MlflowSettings {
  const config = parseMlflowConfig(input);
  const base = nonBlank(config.endpoint_url) ?? nonBlank(env("MLFLOW_TRACKING_URI"));
  if (!base) {
    throw new Error(
      "mlflow: no tracking server; set MLFLOW_TRACKING_URI (e.g. http://localhost:5000) or this sink's config.endpoint_url",
    );
  }
  let trackingUrl: URL;
  try {
    trackingUrl = new URL(base);
  } catch {
    throw new Error(
      `mlflow: the tracking URI must be the http(s) URL of an MLflow tracking server; got ${
        displayUrl(base)
      }`,
    );
  }
  if (trackingUrl.protocol !== "http:" && trackingUrl.protocol !== "https:") {
    throw new Error(
      `mlflow: the tracking URI must be the http(s) URL of an MLflow tracking server (a local store, databricks or ${trackingUrl.protocol} URI is not supported)`,
    );
  }
  trackingUrl.hash = "";
  trackingUrl.search = "";
  let path = trackingUrl.pathname.replace(/\/+$/, "");
  if (path.endsWith(OTLP_TRACES_PATH)) path = path.slice(0, -OTLP_TRACES_PATH.length);
  trackingUrl.pathname = path || "/";
  const tracesUrl = new URL(trackingUrl);
  tracesUrl.pathname = `${path}${OTLP_TRACES_PATH}`;

  const username = nonBlank(config.username) ?? nonBlank(env("MLFLOW_TRACKING_USERNAME"));
  const password = config.password ?? env("MLFLOW_TRACKING_PASSWORD");
  const token = nonBlank(config.tracking_token) ?? nonBlank(env("MLFLOW_TRACKING_TOKEN"));
  if (username && !password) {
    throw new Error(
      "mlflow: a user without a password; set MLFLOW_TRACKING_PASSWORD or this sink's config.password",
    );
  }
  const experimentId = nonBlank(config.experiment_id) ?? nonBlank(env("MLFLOW_EXPERIMENT_ID"));
  const experimentName = experimentId
    ? undefined
    : nonBlank(config.experiment_name) ?? nonBlank(env("MLFLOW_EXPERIMENT_NAME"));
  const settings: MlflowSettings = {
    trackingUrl,
    tracesUrl,
    auth: "none",
    secrets: [],
    tags: config.tags,
    timeoutMs: config.timeout_ms,
  };
  if (username && password) {
    settings.auth = "basic";
    settings.authorization = basicAuth(username, password);
    settings.secrets.push(password, settings.authorization.slice(6));
  } else if (token) {
    settings.auth = "bearer";
    settings.authorization = `Bearer ${token}`;
    settings.secrets.push(token);
  }
  if (experimentId) settings.experimentId = experimentId;
  if (experimentName) settings.experimentName = experimentName;
  return settings;
}

/** What to check when the server refuses the credentials. */
function credentialWords(auth: MlflowSettings["auth"], status: number): string {
  const which = auth === "basic"
    ? "check the MLflow user and password (MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD or config.username / config.password)"
    : auth === "bearer"
    ? "check the MLflow token (MLFLOW_TRACKING_TOKEN or config.tracking_token)"
    : "the server wants credentials: set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or MLFLOW_TRACKING_TOKEN";
  return status === 403 ? `${which}, and that this user may edit the experiment` : which;
}

/** An MLflow REST error body (`{ error_code, message }`), when the answer is one. */
async function mlflowError(res: Response): Promise<{ code?: string; message?: string }> {
  try {
    const body = await res.clone().json() as { error_code?: unknown; message?: unknown };
    return {
      code: typeof body.error_code === "string" ? body.error_code : undefined,
      message: typeof body.message === "string" ? body.message : undefined,
    };
  } catch {
    return {};
  }
}

/**
 * Creates an mlflow sink. Each batch is one `POST {tracking URI}/v1/traces`
 * (`Content-Type: application/x-protobuf`, `x-mlflow-experiment-id`, the
 * credentials as `Authorization`), an OTLP export request with one span per
 * call (see `toMlflowSpan`): the root span of the call's own trace, which
 * MLflow stores as trace `tr-<request id hex>` with its request and
 * response previews, state, times and token usage taken from the span.
 * `gateway_error` events are not model calls and are skipped.
 *
 * An experiment name is resolved to its id once, on the first batch, with
 * `GET /api/2.0/mlflow/experiments/get-by-name`, and created with `POST
 * /api/2.0/mlflow/experiments/create` when it does not exist (as MLflow's
 * client does); the id is kept for the sink's life (a failed lookup is
 * tried again with the next batch, the events kept).
 *
 * Answers go through `@sluice/core/sink-http`'s `classify`: 400/413 are
 * `permanent`; 429 retried after `Retry-After`; 401/403 (the credentials),
 * 404 (the URI, or a server older than 3.6) and redirects keep the events
 * with a message naming what to check; 501 (a server whose backend store
 * takes no OTLP spans: a file store) and a 422 about the experiment keep
 * them too, naming the setting; anything else is retried. Messages never
 * contain a credential.
 *
 * @param config The sink's config.
 * @param ctx The plugin context (`fetch`, `env`, `logger`).
 * @returns The sink.
 * @throws {Error} naming the plugin when the tracking URI is missing or a setting is invalid.
 *
 * @example
 * ```ts
 * import { createMlflowSink } from "@sluice/mlflow";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   await req.arrayBuffer();
 *   return new Response(new Uint8Array(), { headers: { "content-type": "application/x-protobuf" } });
 * });
 * const sink = createMlflowSink(
 *   { endpoint_url: `http://127.0.0.1:${server.addr.port}`, experiment_id: "1" },
 *   createTestContext(),
 * );
 * await sink.log(sampleEvents(2)); // one POST /v1/traces with two spans
 * await server.shutdown();
 * ```
 */
export function createMlflowSink(
  config: MlflowConfig,
  ctx: Pick<PluginContext, "fetch" | "env" | "logger">,
): Sink {
  const settings = resolveMlflowSettings(config, (name) => ctx.env(name));
  const { trackingUrl, tracesUrl, timeoutMs } = settings;
  const shown = displayUrl(tracesUrl);
  const scrub = secretScrubber(settings.secrets, { urls: [trackingUrl, tracesUrl] });
  const version = denoJson.version;
  const headers: Record<string, string> = { "user-agent": `sluice-mlflow/${version}` };
  if (settings.authorization) headers.authorization = settings.authorization;
  const uriWords = "check the tracking URI (MLFLOW_TRACKING_URI or config.endpoint_url)";
  const experimentWords = settings.experimentId
    ? "check the experiment id (MLFLOW_EXPERIMENT_ID or config.experiment_id)"
    : "check the experiment name (MLFLOW_EXPERIMENT_NAME or config.experiment_name)";

  const fail = async (
    res: Response,
    outcome: Exclude<HttpOutcome, { kind: "ok" }>,
    what: string,
    words: FailureWords,
  ): Promise<Error> => {
    const detail = await errorDetail(res, scrub);
    return failureError(
      outcome,
      `mlflow: ${what} answered ${res.status}${detail ? ` (${detail})` : ""}`,
      {
        credentials: credentialWords(settings.auth, res.status),
        url: uriWords,
        redirect: "set the tracking URI to the final address",
        ...words,
      },
      scrub,
    );
  };

  const call = async (
    url: URL,
    init: RequestInit,
    what: string,
    signal?: AbortSignal,
  ): Promise<Response> => {
    try {
      return await ctx.fetch(url, {
        ...init,
        headers: { ...headers, ...init.headers as Record<string, string> },
        redirect: "manual",
        timeoutMs,
        signal,
      });
    } catch (error) {
      throw fetchFailure(error, `mlflow: ${what}`, timeoutMs, scrub);
    }
  };

  const api = (path: string, query?: Record<string, string>): URL => {
    const url = new URL(trackingUrl);
    url.pathname = `${trackingUrl.pathname.replace(/\/+$/, "")}${path}`;
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v);
    return url;
  };

  /** Looks the experiment up by name (`undefined`: no such experiment). */
  const getByName = async (name: string, signal?: AbortSignal): Promise<string | undefined> => {
    const url = api("/api/2.0/mlflow/experiments/get-by-name", { experiment_name: name });
    const what = `GET ${displayUrl(url)}`;
    const res = await call(
      url,
      { method: "GET", headers: { accept: "application/json" } },
      what,
      signal,
    );
    if (res.status === 404 && (await mlflowError(res)).code === "RESOURCE_DOES_NOT_EXIST") {
      await res.body?.cancel();
      return undefined;
    }
    const outcome = classify(res);
    if (outcome.kind !== "ok") throw await fail(res, outcome, what, {});
    const body = await res.json().catch(() => undefined) as
      | { experiment?: { experiment_id?: unknown; lifecycle_stage?: unknown } }
      | undefined;
    const id = body?.experiment?.experiment_id;
    if (typeof id !== "string" || id === "") {
      throw sinkError(`mlflow: ${what} answered without an experiment id; ${uriWords}`);
    }
    if (body?.experiment?.lifecycle_stage === "deleted") {
      throw sinkError(
        `mlflow: experiment ${
          JSON.stringify(name)
        } (${id}) is deleted; restore it or ${experimentWords}; the events are kept and retried`,
      );
    }
    return id;
  };

  /** Creates the experiment; `undefined` when another client created it first. */
  const create = async (name: string, signal?: AbortSignal): Promise<string | undefined> => {
    const url = api("/api/2.0/mlflow/experiments/create");
    const what = `POST ${displayUrl(url)}`;
    const res = await call(
      url,
      {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ name }),
      },
      what,
      signal,
    );
    if ((await mlflowError(res)).code === "RESOURCE_ALREADY_EXISTS") {
      await res.body?.cancel();
      return undefined;
    }
    const outcome = classify(res);
    if (outcome.kind !== "ok") {
      // A 400 here is about the name, not the events: keep them.
      const kept: HttpOutcome = outcome.kind === "permanent"
        ? { kind: "keep", status: outcome.status, reason: "config" }
        : outcome;
      throw await fail(res, kept as Exclude<HttpOutcome, { kind: "ok" }>, what, {
        config: experimentWords,
      });
    }
    const body = await res.json().catch(() => undefined) as { experiment_id?: unknown } | undefined;
    if (typeof body?.experiment_id !== "string" || body.experiment_id === "") {
      throw sinkError(`mlflow: ${what} answered without an experiment id; ${uriWords}`);
    }
    ctx.logger.info(`mlflow: created experiment ${JSON.stringify(name)} (${body.experiment_id})`);
    return body.experiment_id;
  };

  let experiment: Promise<string> | undefined = settings.experimentId
    ? Promise.resolve(settings.experimentId)
    : settings.experimentName
    ? undefined
    : Promise.resolve(DEFAULT_EXPERIMENT_ID);

  const experimentId = (signal?: AbortSignal): Promise<string> => {
    if (!experiment) {
      const name = settings.experimentName!;
      const lookup = (async (): Promise<string> => {
        const id = await getByName(name, signal) ?? await create(name, signal) ??
          await getByName(name, signal);
        if (id === undefined) {
          throw sinkError(
            `mlflow: experiment ${JSON.stringify(name)} could not be found or created`,
          );
        }
        return id;
      })();
      experiment = lookup;
      // A failed lookup is tried again with the next batch.
      lookup.catch(() => {
        if (experiment === lookup) experiment = undefined;
      });
    }
    return experiment;
  };

  return {
    async log(events, options): Promise<SinkLogResult | void> {
      const calls = events.filter((e) => e.call_type !== "gateway_error");
      const skipped = events.length - calls.length;
      if (calls.length === 0) return skipped > 0 ? { skipped } : undefined;
      const id = await experimentId(options?.signal);
      const body = encodeTraceRequest({
        resource: [["service.name", "sluice"], ["telemetry.sdk.name", "@sluice/mlflow"]],
        scope: { name: "@sluice/mlflow", version },
        spans: calls.map((e) => toMlflowSpan(e, { tags: settings.tags })),
      });
      const what = `POST ${shown}`;
      const res = await call(
        tracesUrl,
        {
          method: "POST",
          headers: { "content-type": "application/x-protobuf", [EXPERIMENT_HEADER]: id },
          body,
        },
        what,
        options?.signal,
      );
      let outcome = classify(res);
      const words: FailureWords = {
        refused: "MLflow refused these spans",
        url: `${uriWords}; OTLP trace ingestion needs MLflow 3.6 or later`,
      };
      if (res.status === 501) {
        outcome = { kind: "keep", status: 501, reason: "config" };
        words.config =
          "the server's backend store takes no OTLP traces (a file store): start mlflow server with a SQL backend store, e.g. --backend-store-uri sqlite:///mlflow.db";
      } else if (
        res.status === 422 && /experiment/i.test(await res.clone().text().catch(() => ""))
      ) {
        // MLflow answers 422 when the store refuses the spans; an experiment
        // that does not exist (or was deleted) is a setting, not the events.
        outcome = { kind: "keep", status: 422, reason: "config" };
        words.config = experimentWords;
        if (settings.experimentName) experiment = undefined;
      }
      if (outcome.kind !== "ok") throw await fail(res, outcome, what, words);
      await res.body?.cancel();
      return skipped > 0 ? { skipped } : undefined;
    },
  };
}
