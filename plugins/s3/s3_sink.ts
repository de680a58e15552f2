/**
 * The s3 sink: each event (or each batch, with `format: ndjson`) is one
 * SigV4-signed `PUT Object`, confirmed before `log` resolves.
 * @module
 */
import { createHash } from "node:crypto";
import { AwsV4Signer } from "aws4fetch";
import type { LogEvent, PluginContext, Sink } from "@sluice/core/plugin";
import { fetchFailure, secretScrubber, sinkError } from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import { parseS3Config, resolveS3Target, type S3Config, type S3Target } from "./config.ts";
import { classifyFailure, type FailureKind, parseS3Error } from "./errors.ts";

export { DEFAULT_THROTTLE_WAIT_MS } from "./errors.ts";
import { encodeKey, eventObjectKey, type KeyOptions, ndjsonGroups } from "./keys.ts";

/** PUTs in flight at once within one `log` call. */
export const PUT_CONCURRENCY = 8;

/** Confirmed keys remembered across a failed batch (so its retry skips them), at most. */
const MAX_CONFIRMED = 10_000;

/** At most this much of an error body is read. */
const MAX_ERROR_BODY_CHARS = 16_384;

/** One object to write. */
interface PreparedObject {
  key: string;
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
  /** Base64 MD5 of the body (Content-MD5). */
  md5: string;
  /** Hex SHA-256 of the body (x-amz-content-sha256: the payload is signed). */
  sha256: string;
  /** Events in it. */
  count: number;
}

/** A failed PUT. */
interface Failure {
  kind: FailureKind;
  message: string;
  status?: number;
  retryAfterMs?: number;
}

const encoder = new TextEncoder();

function prepare(key: string, text: string, contentType: string, count: number): PreparedObject {
  const body = encoder.encode(text);
  return {
    key,
    body,
    contentType,
    md5: createHash("md5").update(body).digest("base64"),
    sha256: createHash("sha256").update(body).digest("hex"),
    count,
  };
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

/** The URL of an object: path-style `<endpoint>/<bucket>/<key>` or virtual-hosted `<bucket>.<host>/<key>`. */
export function objectUrl(
  target: Pick<S3Target, "bucket" | "endpoint" | "pathStyle">,
  key: string,
): string {
  const { endpoint } = target;
  const base = endpoint.pathname.replace(/\/+$/, "");
  if (target.pathStyle) {
    return `${endpoint.origin}${base}/${encodeURIComponent(target.bucket)}/${encodeKey(key)}`;
  }
  return `${endpoint.protocol}//${target.bucket}.${endpoint.host}${base}/${encodeKey(key)}`;
}

/** The hint that goes with an access or configuration failure. */
function accessHint(
  status: number,
  code: string | undefined,
  target: S3Target,
  kms: boolean,
  region?: string,
): string {
  if (region && region !== target.region) {
    return `the bucket is in region ${region}, not ${target.region}: set region: ${region}`;
  }
  if (code === "NoSuchBucket" || (status === 404 && !code)) {
    return "check the bucket name, endpoint_url, region and path_style";
  }
  if (code === "ExpiredToken" || code === "InvalidToken" || code === "TokenRefreshRequired") {
    return "the session token is expired or invalid: renew the credentials";
  }
  if (code === "InvalidAccessKeyId") {
    return "this access key id does not exist at this endpoint: check access_key_id (and endpoint_url)";
  }
  if (code === "SignatureDoesNotMatch") {
    return "the secret access key does not match this access key id: check secret_access_key";
  }
  if (status === 401 || status === 403) {
    return `check that this key may s3:PutObject on the bucket${
      kms ? " and kms:GenerateDataKey on the KMS key" : ""
    } and that its secret is right`;
  }
  if (status >= 300 && status < 400) {
    return "the endpoint redirects: check region and endpoint_url";
  }
  return "check this sink's config (region, server_side_encryption, sse_kms_key_id, endpoint_url)";
}

/**
 * Creates an s3 sink. Each `log(events)` writes, with at most
 * {@link PUT_CONCURRENCY} PUTs in flight:
 * - `format: json` (default): one object per event, key
 *   `[path/][team/][key_alias/]YYYY-MM-DD/<HH-MM-SS-micro>_<request id>.json`;
 * - `format: ndjson`: one object per prefix and hour of the batch, key
 *   `[path/][team/][key_alias/]YYYY-MM-DD/HH/<HH-MM-SS-micro>_<batch id>.ndjson`.
 *
 * Every PUT carries `Content-Type`, `Content-MD5`, a signed payload hash
 * (`x-amz-content-sha256`) and, when configured, the SSE headers, and is
 * signed with SigV4 (`aws4fetch`). `log` resolves once every object is
 * confirmed (2xx). Keys are deterministic, so a retried batch overwrites its
 * own objects; objects confirmed before a partial failure are not sent again.
 *
 * Failures (`classifyFailure`: `@sluice/core/sink-http`'s `classify`
 * refined by S3's error codes; see the contract's `SinkError`):
 * - 5xx, 503 `SlowDown`, 429, timeouts and network errors: retried
 *   (`retryAfterMs` from `Retry-After`; 1 s for throttling without one);
 * - 401, 403, 404, redirects and S3 configuration errors (wrong region,
 *   SSE/KMS settings, expired token): retried and the events kept, with a
 *   message naming bucket, endpoint, region and access key id (never the
 *   secret or the session token) and what to check. The message is the
 *   same for every batch while the cause lasts, so the gateway, which logs
 *   a failure when its message changes, reports it once;
 * - S3 `EntityTooLarge`/`KeyTooLongError`, or 400/413/422 from a non-S3
 *   answer: `permanent` (malformed; the gateway drops and reports them).
 *
 * @param config The sink entry's `config:` (checked here; defaults applied).
 * @param ctx The plugin context (`fetch`, `env`).
 * @returns The sink.
 * @throws Error when the config is invalid or no credentials are found.
 *
 * @example
 * ```ts
 * import { createS3Sink } from "@sluice/s3";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * // Any S3-compatible endpoint: here a stand-in that accepts every PUT.
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   console.log(req.method, new URL(req.url).pathname, (await req.json()).request_id);
 *   return new Response(null, { status: 200 });
 * });
 * const sink = createS3Sink({
 *   bucket: "llm-logs",
 *   endpoint_url: `http://127.0.0.1:${server.addr.port}`,
 *   access_key_id: "AKIAEXAMPLE",
 *   secret_access_key: "example-secret",
 * }, createTestContext());
 * await sink.log(sampleEvents(2)); // PUT /llm-logs/2025-…/…_<request id>.json, twice
 * await server.shutdown();
 * ```
 */
export function createS3Sink(
  config: S3Config,
  ctx: Pick<PluginContext, "fetch" | "env">,
): Sink {
  const parsed = parseS3Config(config);
  const target = resolveS3Target(parsed, (name) => ctx.env(name));
  const { credentials } = target;
  const keyOptions: KeyOptions = {
    path: parsed.path,
    useTeamPrefix: parsed.use_team_prefix,
    useKeyPrefix: parsed.use_key_prefix,
  };
  const sseHeaders: Record<string, string> = {};
  if (parsed.server_side_encryption) {
    sseHeaders["x-amz-server-side-encryption"] = parsed.server_side_encryption;
  }
  if (parsed.sse_kms_key_id) {
    sseHeaders["x-amz-server-side-encryption-aws-kms-key-id"] = parsed.sse_kms_key_id;
  }
  const kms = parsed.server_side_encryption === "aws:kms";
  /** Removes the secret key and session token from foreign text. */
  const scrub = secretScrubber([credentials.secretAccessKey, credentials.sessionToken]);
  const where = `bucket "${target.bucket}" at ${target.shownEndpoint} (region ${target.region})`;
  const who = `access key id ${credentials.accessKeyId}${
    credentials.from === "environment" ? " (from AWS_ACCESS_KEY_ID)" : ""
  }`;
  const signingCache = new Map<string, ArrayBuffer>();
  /** key → Content-MD5 of objects confirmed during a batch that then failed. */
  const confirmed = new Map<string, string>();

  function objectsOf(events: readonly LogEvent[]): PreparedObject[] {
    if (parsed.format === "ndjson") {
      return ndjsonGroups(events, keyOptions).map((group) =>
        prepare(
          group.key,
          group.events.map((e) => JSON.stringify(e)).join("\n") + "\n",
          "application/x-ndjson",
          group.events.length,
        )
      );
    }
    return events.map((event) =>
      prepare(eventObjectKey(event, keyOptions), JSON.stringify(event), "application/json", 1)
    );
  }

  async function put(object: PreparedObject): Promise<Failure | undefined> {
    const url = objectUrl(target, object.key);
    let res: Response;
    try {
      const signer = new AwsV4Signer({
        method: "PUT",
        url,
        headers: {
          "content-type": object.contentType,
          "content-md5": object.md5,
          "x-amz-content-sha256": object.sha256,
          ...sseHeaders,
        },
        body: object.body,
        accessKeyId: credentials.accessKeyId,
        secretAccessKey: credentials.secretAccessKey,
        sessionToken: credentials.sessionToken,
        service: "s3",
        region: target.region,
        cache: signingCache,
      });
      const signed = await signer.sign();
      signed.headers.set("user-agent", `sluice-s3/${denoJson.version}`);
      res = await ctx.fetch(url, {
        method: "PUT",
        headers: signed.headers,
        body: object.body,
        redirect: "manual",
        timeoutMs: parsed.timeout_ms,
      });
    } catch (error) {
      if (error instanceof Error && error.name === "AbortError") {
        return { kind: "retry", message: `s3: a PUT to ${where} was aborted (shutting down)` };
      }
      // Fetch errors quote the object URL: show the endpoint instead, so the message is stable.
      const failed = fetchFailure(
        error,
        `s3: a PUT to ${where}`,
        parsed.timeout_ms,
        (text) => scrub(text).split(url).join(target.shownEndpoint),
      );
      return { kind: "retry", message: `${failed.message}; retrying` };
    }
    if (res.ok) {
      await res.body?.cancel().catch(() => {});
      return undefined;
    }
    const body = (await res.text().catch(() => "")).slice(0, MAX_ERROR_BODY_CHARS);
    const s3 = parseS3Error(body);
    const outcome = classifyFailure(res, s3.code);
    if (outcome.kind === "ok") return undefined;
    const { status } = outcome;
    const region = s3.region ?? res.headers.get("x-amz-bucket-region") ?? undefined;
    const answer = scrub(
      [`${status}${res.statusText ? ` ${res.statusText}` : ""}`, s3.code, s3.message?.slice(0, 300)]
        .filter(Boolean).join(": "),
    );
    switch (outcome.kind) {
      case "keep":
        return {
          kind: "keep",
          status,
          message: `s3: ${where} refused the write as ${who}: ${answer}. ${
            accessHint(status, s3.code, target, kms, region)
          }; the events are kept and retried`,
        };
      case "permanent":
        return {
          kind: "permanent",
          status,
          message: `s3: ${where} refused an object as malformed: ${answer}`,
        };
      case "retry":
        return {
          kind: "retry",
          status,
          retryAfterMs: outcome.afterMs,
          message: `s3: ${where} answered ${answer}; retrying`,
        };
    }
  }

  function remember(object: PreparedObject): void {
    if (confirmed.size >= MAX_CONFIRMED) confirmed.clear();
    confirmed.set(object.key, object.md5);
  }

  return {
    async log(events) {
      if (events.length === 0) return;
      const objects = objectsOf(events);
      const pending = objects.filter((o) => confirmed.get(o.key) !== o.md5);
      const outcomes = await mapLimited(pending, PUT_CONCURRENCY, async (object) => {
        const failure = await put(object);
        if (!failure) remember(object);
        return { object, failure };
      });
      const failed = outcomes.filter((o) => o.failure !== undefined);
      if (failed.length === 0) {
        confirmed.clear();
        return;
      }
      const failures = failed.map((o) => o.failure!);
      const access = failures.find((f) => f.kind === "keep");
      if (access) throw sinkError(access.message, { status: access.status });
      const retryable = failures.filter((f) => f.kind === "retry");
      if (retryable.length > 0) {
        const waits = retryable.map((f) => f.retryAfterMs).filter((w): w is number =>
          w !== undefined
        );
        throw sinkError(retryable[0].message, {
          status: retryable[0].status,
          retryAfterMs: waits.length ? Math.max(...waits) : undefined,
        });
      }
      // Only malformed objects are left: the rest of the batch is written.
      const refused = failed.reduce((n, o) => n + o.object.count, 0);
      const written = objects.reduce((n, o) => n + o.count, 0) - refused;
      throw sinkError(
        `${failures[0].message} (${refused} event${refused === 1 ? "" : "s"} refused${
          written ? `, ${written} written` : ""
        })`,
        { permanent: true, status: failures[0].status },
      );
    },
  };
}
