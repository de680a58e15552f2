/**
 * The azure-blob sink: each event (or each batch, with `format: ndjson`)
 * is one Put Blob (a block blob), confirmed before `log` resolves.
 * @module
 */
import type { LogEvent, PluginContext, Sink } from "@sluice/core/plugin";
import {
  batchFailure,
  classify,
  errorDetail,
  failureError,
  fetchFailure,
  type HttpFailure,
  type HttpSinkError,
  secretScrubber,
  sinkError,
} from "@sluice/core/sink-http";
import { eventObjectKey, type KeyOptions, ndjsonGroups } from "@sluice/s3";
import {
  azureErrorText,
  createEntraAuth,
  type EntraAuth,
  importAccountKey,
  sharedKeyAuthorization,
} from "@sluice/azure";
import denoJson from "./deno.json" with { type: "json" };
import {
  type AzureBlobConfig,
  type AzureBlobTarget,
  BLOB_API_VERSION,
  parseAzureBlobConfig,
  resolveAzureBlobTarget,
  STORAGE_SCOPE,
} from "./config.ts";

/** Uploads in flight at once within one `log` call. */
export const UPLOAD_CONCURRENCY = 8;

/** Names confirmed during a batch that then failed, remembered (so its retry skips them), at most. */
const MAX_CONFIRMED = 10_000;

/**
 * 400 error codes that are the sink's configuration, not the events'
 * (Azure Storage's common error codes): the events are kept.
 */
const CONFIG_CODES = new Set([
  "InvalidHeaderValue",
  "InvalidQueryParameterValue",
  "InvalidResourceName",
  "InvalidUri",
  "MissingRequiredHeader",
  "MissingRequiredQueryParameter",
  "OutOfRangeInput",
  "UnsupportedHeader",
  "UnsupportedQueryParameter",
  "InvalidAuthenticationInfo",
  "AccountIsDisabled",
]);

/** Codes of a 403 that mean the token (not the app's role) was refused: renewed once. */
const TOKEN_CODES = new Set(["AuthenticationFailed", "InvalidAuthenticationInfo"]);

/** One blob to write. */
interface PreparedBlob {
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
  /** The bearer token itself was refused (401, or 403 AuthenticationFailed). */
  tokenRefused?: boolean;
}

const encoder = new TextEncoder();

/**
 * The URL of a blob: `<endpoint>/<container>/<name>`, each name segment
 * percent-encoded (the path Shared Key signs).
 *
 * @param target The endpoint and container.
 * @param name The blob name.
 * @returns The URL (without a SAS token).
 *
 * @example
 * ```ts
 * import { blobUrl } from "@sluice/azure-blob";
 *
 * blobUrl(
 *   { container: "llm-logs", endpoint: new URL("http://127.0.0.1:10000/devstoreaccount1") },
 *   "team a/2026-12-06/x.json",
 * ); // "http://127.0.0.1:10000/devstoreaccount1/llm-logs/team%20a/2026-12-06/x.json"
 * ```
 */
export function blobUrl(
  target: Pick<AzureBlobTarget, "container" | "endpoint">,
  name: string,
): string {
  const base = target.endpoint.pathname.replace(/\/+$/, "");
  const path = name.split("/").map(encodeURIComponent).join("/");
  return `${target.endpoint.origin}${base}/${target.container}/${path}`;
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

/** Options of {@link createAzureBlobSink} beyond the config. */
export interface AzureBlobSinkOptions {
  /** The clock of the Entra ID token cache (default `Date.now`): tests move it. */
  now?: () => number;
}

/**
 * Creates an azure-blob sink. Each `log(events)` writes, with at most
 * {@link UPLOAD_CONCURRENCY} uploads in flight:
 * - `format: json` (default): one block blob per event, named
 *   `[path/][team/][key_alias/]YYYY-MM-DD/<HH-MM-SS-micro>_<request id>.json`;
 * - `format: ndjson`: one blob per prefix and hour of the batch, named
 *   `[path/][team/][key_alias/]YYYY-MM-DD/HH/<HH-MM-SS-micro>_<batch id>.ndjson`
 *   (the s3 sink's layout, from `@sluice/s3`).
 *
 * Each blob is one `PUT <endpoint>/<container>/<name>` (Put Blob,
 * `x-ms-blob-type: BlockBlob`) authorized with Shared Key, an Entra ID
 * bearer token or a SAS token (`@sluice/azure`). Names are deterministic,
 * so a retried batch overwrites its own blobs, and blobs confirmed before
 * a partial failure are not sent again.
 *
 * Failures (`@sluice/core/sink-http`'s `classify`, refined by Azure's error code):
 * - 5xx, 429 (`Retry-After` honoured), timeouts, network errors: retried;
 * - a refused bearer token (401, 403 `AuthenticationFailed`): renewed and
 *   sent again once; refused credentials, missing role, missing container,
 *   redirects, and a 400 about the request's settings: retried with the
 *   events kept, the message naming container, endpoint and account (never
 *   a key, secret or token) and what to check;
 * - other 400s, 413, 422: `permanent`.
 *
 * @param config The sink entry's `config:` (checked here; defaults applied).
 * @param ctx The plugin context (`fetch`, `env`).
 * @param options The token cache's clock.
 * @returns The sink.
 * @throws Error when the config is invalid or names no credentials.
 *
 * @example
 * ```ts
 * import { createAzureBlobSink } from "@sluice/azure-blob";
 * import { createTestContext, sampleEvents } from "@sluice/core/testing";
 *
 * // A stand-in for the Blob service that accepts every Put Blob.
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   console.log(req.method, new URL(req.url).pathname, req.headers.get("authorization")?.split(":")[0]);
 *   await req.body?.cancel();
 *   return new Response(null, { status: 201 });
 * });
 * const sink = await createAzureBlobSink({
 *   container: "llm-logs",
 *   path: "gateway",
 *   connection_string: "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
 *     "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
 *     `BlobEndpoint=http://127.0.0.1:${server.addr.port}/devstoreaccount1;`,
 * }, createTestContext());
 * await sink.log(sampleEvents(2)); // PUT /devstoreaccount1/llm-logs/gateway/2025-…/…_<id>.json SharedKey devstoreaccount1, twice
 * await server.shutdown();
 * ```
 */
export async function createAzureBlobSink(
  config: AzureBlobConfig,
  ctx: Pick<PluginContext, "fetch" | "env">,
  options: AzureBlobSinkOptions = {},
): Promise<Sink> {
  const parsed = parseAzureBlobConfig(config);
  const target = resolveAzureBlobTarget(parsed, (name) => ctx.env(name));
  const { credentials } = target;
  const fetch = (input: string | URL | Request, init?: Parameters<typeof ctx.fetch>[1]) =>
    ctx.fetch(input, init);
  let sharedKey: CryptoKey | undefined;
  if (credentials.kind === "shared-key") {
    try {
      sharedKey = await importAccountKey(credentials.accountKey);
    } catch (error) {
      throw new Error(`azure-blob: ${credentials.from}: ${(error as Error).message}`);
    }
  }
  const entra: EntraAuth | undefined = credentials.kind === "entra"
    ? createEntraAuth(credentials, {
      name: "azure-blob",
      scope: STORAGE_SCOPE,
      fetch,
      ...(options.now ? { now: options.now } : {}),
    })
    : undefined;
  const principal = credentials.kind === "entra"
    ? entra!.principal
    : credentials.kind === "shared-key"
    ? `account ${target.account}'s key (${credentials.from})`
    : `the SAS token from ${credentials.from}`;
  const keyOptions: KeyOptions = {
    path: parsed.path,
    useTeamPrefix: parsed.use_team_prefix,
    useKeyPrefix: parsed.use_key_prefix,
  };
  const where = `container "${target.container}" at ${target.shownEndpoint}`;
  const userAgent = `sluice-azure-blob/${denoJson.version}`;
  /** Names of blobs confirmed during a batch that then failed. */
  const confirmed = new Set<string>();

  const secrets = () => [
    credentials.kind === "shared-key" ? credentials.accountKey : undefined,
    credentials.kind === "sas" ? credentials.token : undefined,
    ...(entra?.secrets() ?? []),
  ];

  function blobsOf(events: readonly LogEvent[]): PreparedBlob[] {
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

  /** What to check for a `keep` outcome, by Azure's error code. */
  function words(status: number, code: string) {
    const credentialWords = credentials.kind === "entra"
      ? status === 403 && !TOKEN_CODES.has(code)
        ? `give ${principal} the Storage Blob Data Contributor role on the container or account`
        : `the token was refused: ${entra!.hint}`
      : credentials.kind === "shared-key"
      ? `check the account key and account name (${credentials.from}${
        credentials.from === "AZURE_STORAGE_ACCOUNT_KEY" ? ", AZURE_STORAGE_ACCOUNT_NAME" : ""
      })`
      : `check the SAS token's permissions (write, create) and expiry (${credentials.from})`;
    return {
      refused: "Azure Storage refused the blob as malformed",
      credentials: credentialWords,
      url: code === "ContainerNotFound"
        ? `create the container "${target.container}" or check its name (container, AZURE_STORAGE_FILE_SYSTEM)`
        : "check the account name and the Blob endpoint (endpoint_url, AZURE_STORAGE_BLOB_ENDPOINT)",
      redirect: "set endpoint_url to the final URL",
      config: "check the sink's endpoint and container settings",
    };
  }

  async function upload(
    blob: PreparedBlob,
    signal: AbortSignal | undefined,
  ): Promise<Failure | undefined> {
    const plain = blobUrl(target, blob.name);
    const url = credentials.kind === "sas" ? `${plain}?${credentials.token}` : plain;
    const scrubBase = secretScrubber(secrets(), { urls: [url] });
    // Without the blob's own name, messages stay the same per cause.
    const scrub = (text: string) =>
      scrubBase(text).split(plain).join(target.shownEndpoint).split(blob.name).join("<blob>");
    const headers = new Headers({
      "x-ms-date": new Date().toUTCString(),
      "x-ms-version": BLOB_API_VERSION,
      "x-ms-blob-type": "BlockBlob",
      "content-type": blob.contentType,
      "content-length": String(blob.body.length),
      "user-agent": userAgent,
    });
    let res: Response;
    try {
      if (sharedKey) {
        headers.set(
          "authorization",
          await sharedKeyAuthorization({ method: "PUT", url, headers }, target.account!, sharedKey),
        );
      } else if (entra) {
        headers.set("authorization", await entra.authorization());
      }
    } catch (error) {
      return { kind: "retry", error: error as HttpSinkError };
    }
    try {
      res = await ctx.fetch(url, {
        method: "PUT",
        headers,
        body: blob.body,
        redirect: "manual",
        signal,
        timeoutMs: parsed.timeout_ms,
      });
    } catch (error) {
      const failed = fetchFailure(
        error,
        `azure-blob: an upload to ${where}`,
        parsed.timeout_ms,
        scrub,
      );
      return { kind: "retry", error: sinkError(`${failed.message}; retrying`) };
    }
    let outcome = classify(res);
    if (outcome.kind === "ok") {
      await res.body?.cancel().catch(() => {});
      return undefined;
    }
    const text = await res.text().catch(() => "");
    const code = azureErrorText(text, res.headers).split(":")[0];
    if (outcome.kind === "permanent" && outcome.status === 400 && CONFIG_CODES.has(code)) {
      outcome = { kind: "keep", status: 400, reason: "config" } satisfies HttpFailure;
    }
    const detail = azureErrorText(text, res.headers, scrub) ||
      await errorDetail(new Response(text), scrub);
    const answered = `azure-blob: ${where} answered ${res.status}${
      res.statusText ? ` ${res.statusText}` : ""
    }${detail ? ` (${detail})` : ""} to ${principal}`;
    const error = failureError(outcome, answered, words(res.status, code), scrub);
    const tokenRefused = !!entra &&
      (res.status === 401 || (res.status === 403 && TOKEN_CODES.has(code)));
    return { kind: outcome.kind, error, tokenRefused };
  }

  /** Uploads `blobs`, remembering the confirmed ones; the failures, in order. */
  async function uploadAll(
    blobs: readonly PreparedBlob[],
    signal: AbortSignal | undefined,
  ): Promise<{ blob: PreparedBlob; failure: Failure }[]> {
    if (blobs.length === 0) return [];
    if (entra) await entra.authorization(); // one token request for the whole batch
    const outcomes = await mapLimited(blobs, UPLOAD_CONCURRENCY, async (blob) => {
      const failure = await upload(blob, signal);
      if (!failure) {
        if (confirmed.size >= MAX_CONFIRMED) confirmed.clear();
        confirmed.add(blob.name);
      }
      return { blob, failure };
    });
    return outcomes.filter((o): o is { blob: PreparedBlob; failure: Failure } =>
      o.failure !== undefined
    );
  }

  return {
    async log(events, callOptions) {
      if (events.length === 0) return;
      const signal = callOptions?.signal;
      const blobs = blobsOf(events);
      let failed = await uploadAll(blobs.filter((b) => !confirmed.has(b.name)), signal);
      const refusedToken = failed.filter((f) => f.failure.tokenRefused);
      if (refusedToken.length > 0 && entra) {
        // The token was refused (revoked, or the clock moved): once more with a new one.
        entra.invalidate();
        const again = await uploadAll(refusedToken.map((f) => f.blob), signal);
        failed = [...failed.filter((f) => !f.failure.tokenRefused), ...again];
      }
      if (failed.length === 0) {
        confirmed.clear();
        return;
      }
      // Only malformed blobs left means the rest of the batch is written.
      const refused = failed.reduce((n, f) => n + f.blob.count, 0);
      const written = blobs.reduce((n, b) => n + b.count, 0) - refused;
      throw batchFailure(failed.map((f) => f.failure), { refused, written });
    },
  };
}
