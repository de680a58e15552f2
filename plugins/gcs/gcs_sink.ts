/**
 * The gcs sink: each event (or each batch, with `format: ndjson`) is one
 * Cloud Storage JSON API media upload, confirmed before `log` resolves.
 * @module
 */
import type { LogEvent, PluginContext, Sink } from "@sluice/core/plugin";
import {
  batchFailure,
  classify,
  errorDetail,
  failureError,
  fetchFailure,
  type HttpSinkError,
  secretScrubber,
  sinkError,
} from "@sluice/core/sink-http";
import { eventObjectKey, type KeyOptions, ndjsonGroups } from "@sluice/s3";
import denoJson from "./deno.json" with { type: "json" };
import { createGoogleAuth, type GoogleAuth } from "./auth.ts";
import {
  GCS_SCOPE,
  type GcsConfig,
  type GcsTarget,
  parseGcsConfig,
  resolveGcsTarget,
} from "./config.ts";

/** Uploads in flight at once within one `log` call. */
export const UPLOAD_CONCURRENCY = 8;

/** Names confirmed during a batch that then failed, remembered (so its retry skips them), at most. */
const MAX_CONFIRMED = 10_000;

/** One object to write. */
interface PreparedObject {
  name: string;
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
  /** Events in it. */
  count: number;
}

/** A failed upload. */
interface Failure {
  kind: "retry" | "keep" | "permanent";
  error: HttpSinkError;
  /** A 401: the token itself was refused. */
  tokenRefused?: boolean;
}

const encoder = new TextEncoder();

/**
 * The JSON API media upload URL of an object:
 * `<endpoint>/upload/storage/v1/b/<bucket>/o?uploadType=media&name=<name>`.
 *
 * @param target The endpoint and bucket.
 * @param name The object name.
 * @returns The URL.
 *
 * @example
 * ```ts
 * import { uploadUrl } from "@sluice/gcs";
 *
 * uploadUrl({ bucket: "llm-logs", endpoint: new URL("https://storage.googleapis.com") }, "a/b.json");
 * // "https://storage.googleapis.com/upload/storage/v1/b/llm-logs/o?uploadType=media&name=a%2Fb.json"
 * ```
 */
export function uploadUrl(target: Pick<GcsTarget, "bucket" | "endpoint">, name: string): string {
  const base = target.endpoint.pathname.replace(/\/+$/, "");
  return `${target.endpoint.origin}${base}/upload/storage/v1/b/${
    encodeURIComponent(target.bucket)
  }/o?uploadType=media&name=${encodeURIComponent(name)}`;
}

/** Runs `task` over `items` with at most `limit` at once; results in item order. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Options of {@link createGcsSink} beyond the config. */
export interface GcsSinkOptions {
  /** The token source (default: one from the config and environment, `createGoogleAuth`). */
  auth?: GoogleAuth;
}

/**
 * Creates a gcs sink. Each `log(events)` writes, with at most
 * {@link UPLOAD_CONCURRENCY} uploads in flight:
 * - `format: json` (default): one object per event, named
 *   `[path/][team/][key_alias/]YYYY-MM-DD/<HH-MM-SS-micro>_<request id>.json`;
 * - `format: ndjson`: one object per prefix and hour of the batch, named
 *   `[path/][team/][key_alias/]YYYY-MM-DD/HH/<HH-MM-SS-micro>_<batch id>.ndjson`
 *   (the s3 sink's layout, from `@sluice/s3`).
 *
 * Each object is one `POST /upload/storage/v1/b/<bucket>/o?uploadType=media&name=<name>`
 * with `Authorization: Bearer <token>` (`@sluice/gcs/auth`). `log` resolves
 * once every object is confirmed (2xx); names are deterministic, so a
 * retried batch overwrites its own objects, and objects confirmed before a
 * partial failure are not sent again.
 *
 * Failures (`@sluice/core/sink-http`'s `classify`):
 * - 5xx, 429, timeouts, network errors: retried (`Retry-After` honoured);
 * - 401: the token is renewed and the upload sent again once; 401, 403,
 *   404, redirects, and a token that cannot be had: retried with the
 *   events kept, the message naming bucket, endpoint and account (never a
 *   key or token) and what to check, the same for every batch while the
 *   cause lasts;
 * - 400, 413, 422: `permanent` (the gateway drops and reports those events).
 *
 * @param config The sink entry's `config:` (checked here; defaults applied).
 * @param ctx The plugin context (`fetch`, `env`).
 * @param options A token source to use instead of the configured one.
 * @returns The sink.
 * @throws Error when the config is invalid or the key cannot be read.
 *
 * @example
 * ```ts
 * import { createGcsSink } from "@sluice/gcs";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * // A stand-in for the JSON API (or an emulator, with no credentials).
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   const url = new URL(req.url);
 *   console.log(url.pathname, url.searchParams.get("name"), (await req.json()).request_id);
 *   return Response.json({ bucket: "llm-logs", name: url.searchParams.get("name") });
 * });
 * const ctx = createTestContext({
 *   env: { STORAGE_EMULATOR_HOST: `127.0.0.1:${server.addr.port}` },
 *   permissions: { env: ["STORAGE_EMULATOR_HOST"] },
 * });
 * const sink = await createGcsSink({ bucket: "llm-logs", path: "gateway" }, ctx);
 * await sink.log(sampleEvents(2)); // /upload/storage/v1/b/llm-logs/o gateway/2025-…/…_<id>.json, twice
 * await server.shutdown();
 * ```
 */
export async function createGcsSink(
  config: GcsConfig,
  ctx: Pick<PluginContext, "fetch" | "env">,
  options: GcsSinkOptions = {},
): Promise<Sink> {
  const parsed = parseGcsConfig(config);
  const target = resolveGcsTarget(parsed, (name) => ctx.env(name));
  const auth = options.auth ?? await createGoogleAuth(target.credentials, {
    name: "gcs",
    scopes: [GCS_SCOPE],
    fetch: (input, init) => ctx.fetch(input, init),
  });
  const keyOptions: KeyOptions = {
    path: parsed.path,
    useTeamPrefix: parsed.use_team_prefix,
    useKeyPrefix: parsed.use_key_prefix,
  };
  const where = `bucket "${target.bucket}" at ${target.shownEndpoint}`;
  const userAgent = `sluice-gcs/${denoJson.version}`;
  /** Names of objects confirmed during a batch that then failed. */
  const confirmed = new Set<string>();

  function objectsOf(events: readonly LogEvent[]): PreparedObject[] {
    if (parsed.format === "ndjson") {
      return ndjsonGroups(events, keyOptions).map((group) => ({
        name: group.key,
        body: encoder.encode(group.events.map((e) => JSON.stringify(e)).join("\n") + "\n"),
        contentType: "application/x-ndjson",
        count: group.events.length,
      }));
    }
    return events.map((event) => ({
      name: eventObjectKey(event, keyOptions),
      body: encoder.encode(JSON.stringify(event)),
      contentType: "application/json",
      count: 1,
    }));
  }

  /** Removes keys and tokens, and the object's own name (so messages stay the same per cause). */
  const scrubFor = (object: PreparedObject) => {
    const scrub = secretScrubber(auth.secrets());
    return (text: string) => scrub(text).split(object.name).join("<object>");
  };

  async function upload(
    object: PreparedObject,
    authorization: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Failure | undefined> {
    const url = uploadUrl(target, object.name);
    const scrub = scrubFor(object);
    let res: Response;
    try {
      res = await ctx.fetch(url, {
        method: "POST",
        headers: {
          "content-type": object.contentType,
          "user-agent": userAgent,
          ...(authorization ? { authorization } : {}),
        },
        body: object.body,
        redirect: "manual",
        signal,
        timeoutMs: parsed.timeout_ms,
      });
    } catch (error) {
      // Fetch errors quote the URL (with the object's name): show the endpoint instead.
      const failed = fetchFailure(
        error,
        `gcs: an upload to ${where}`,
        parsed.timeout_ms,
        (text) => scrub(text).split(url).join(target.shownEndpoint),
      );
      return { kind: "retry", error: sinkError(`${failed.message}; retrying`) };
    }
    const outcome = classify(res);
    if (outcome.kind === "ok") {
      await res.body?.cancel().catch(() => {});
      return undefined;
    }
    const detail = await errorDetail(res, scrub);
    const answered = `gcs: ${where} answered ${res.status}${
      res.statusText ? ` ${res.statusText}` : ""
    }${detail ? ` (${detail})` : ""} to ${auth.principal}`;
    const error = failureError(outcome, answered, {
      refused: "Cloud Storage refused the object as malformed",
      credentials: res.status === 401
        ? `the access token was refused: ${auth.hint}`
        : `check that ${auth.principal} may create objects in the bucket ` +
          "(roles/storage.objectCreator)",
      url: "check the bucket name and endpoint_url",
      redirect: "set endpoint_url to the final URL",
    }, scrub);
    return { kind: outcome.kind, error, tokenRefused: res.status === 401 };
  }

  /** Uploads `objects`, remembering the confirmed ones; the failures, in order. */
  async function uploadAll(
    objects: readonly PreparedObject[],
    signal: AbortSignal | undefined,
  ): Promise<{ object: PreparedObject; failure: Failure }[]> {
    if (objects.length === 0) return [];
    const authorization = await auth.authorization();
    const outcomes = await mapLimited(objects, UPLOAD_CONCURRENCY, async (object) => {
      const failure = await upload(object, authorization, signal);
      if (!failure) {
        if (confirmed.size >= MAX_CONFIRMED) confirmed.clear();
        confirmed.add(object.name);
      }
      return { object, failure };
    });
    return outcomes.filter((o): o is { object: PreparedObject; failure: Failure } =>
      o.failure !== undefined
    );
  }

  return {
    async log(events, callOptions) {
      if (events.length === 0) return;
      const signal = callOptions?.signal;
      const objects = objectsOf(events);
      let failed = await uploadAll(objects.filter((o) => !confirmed.has(o.name)), signal);
      const refusedToken = failed.filter((f) => f.failure.tokenRefused);
      if (refusedToken.length > 0 && auth.source.kind !== "none") {
        // The token was refused (revoked, or the clock moved): once more with a new one.
        auth.invalidate();
        const again = await uploadAll(refusedToken.map((f) => f.object), signal);
        failed = [...failed.filter((f) => !f.failure.tokenRefused), ...again];
      }
      if (failed.length === 0) {
        confirmed.clear();
        return;
      }
      // Only malformed objects left means the rest of the batch is written.
      const refused = failed.reduce((n, f) => n + f.object.count, 0);
      const written = objects.reduce((n, o) => n + o.count, 0) - refused;
      throw batchFailure(failed.map((f) => f.failure), { refused, written });
    },
  };
}
