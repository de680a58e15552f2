/**
 * Google Cloud credentials for Sluice sinks (`@sluice/gcs/auth`): the one
 * place the gcs and gcs-pubsub plugins get their OAuth 2.0 access tokens.
 *
 * Where the credentials come from ({@link resolveGoogleCredentials}), first
 * match wins:
 * 1. the sink's `service_account_json` (the key file's JSON itself, e.g.
 *    `os.environ/GCS_SERVICE_ACCOUNT_JSON`);
 * 2. the sink's `service_account_file`;
 * 3. `GCS_PATH_SERVICE_ACCOUNT` (LiteLLM's variable: a key file's path);
 * 4. `GOOGLE_APPLICATION_CREDENTIALS` (Google's Application Default
 *    Credentials file: a service account key or `gcloud auth
 *    application-default login`'s authorized user);
 * 5. the metadata server of Compute Engine, Cloud Run, GKE and App Engine
 *    (`metadata.google.internal`, or `GCE_METADATA_HOST`).
 *
 * A service account key becomes a JWT signed with its private key (RS256,
 * WebCrypto), exchanged at the key's `token_uri` for an access token
 * (Google's "OAuth 2.0 for Server to Server Applications"); an authorized
 * user's refresh token is exchanged at its `token_uri`; the metadata server
 * hands out its service account's token. Tokens are cached and renewed
 * {@link TOKEN_REFRESH_MARGIN_MS} before they expire (at half their
 * lifetime for short-lived ones), one request at a time however many
 * uploads wait for it.
 *
 * Errors never carry the private key, a client secret, a refresh token or
 * an access token: answers are passed through the sink helpers'
 * `secretScrubber` first. A refused key (400 `invalid_grant`, 401, 403 from
 * the token endpoint) is a credential failure: the events are kept.
 *
 * @example Get a token for a service account
 * ```ts
 * import { createGoogleAuth, resolveGoogleCredentials } from "@sluice/gcs/auth";
 * import { createTestContext } from "@sluice/core/testing";
 *
 * // A stand-in for Google's token endpoint (the key's token_uri points here).
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   const form = new URLSearchParams(await req.text());
 *   console.log(form.get("grant_type")); // urn:ietf:params:oauth:grant-type:jwt-bearer
 *   return Response.json({ access_token: "ya29.example", expires_in: 3599, token_type: "Bearer" });
 * });
 * const pair = await crypto.subtle.generateKey(
 *   {
 *     name: "RSASSA-PKCS1-v1_5",
 *     modulusLength: 2048,
 *     publicExponent: new Uint8Array([1, 0, 1]),
 *     hash: "SHA-256",
 *   },
 *   true,
 *   ["sign", "verify"],
 * );
 * const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
 * const key = {
 *   type: "service_account",
 *   client_email: "logger@my-project.iam.gserviceaccount.com",
 *   private_key: `-----BEGIN PRIVATE KEY-----\n${pkcs8.toBase64()}\n-----END PRIVATE KEY-----\n`,
 *   token_uri: `http://127.0.0.1:${server.addr.port}/token`,
 * };
 * const source = resolveGoogleCredentials({ service_account_json: JSON.stringify(key) }, () => undefined);
 * const auth = await createGoogleAuth(source, {
 *   name: "my-sink",
 *   scopes: ["https://www.googleapis.com/auth/devstorage.read_write"],
 *   fetch: createTestContext().fetch,
 * });
 * await auth.authorization(); // "Bearer ya29.example" (cached until 5 minutes before it expires)
 * await server.shutdown();
 * ```
 * @module
 */
import type { PluginFetchInit } from "@sluice/core/plugin";
import {
  classify,
  displayUrl,
  failureError,
  fetchFailure,
  type HttpFailure,
  type HttpSinkError,
  secretScrubber,
  sinkError,
} from "@sluice/core/sink-http";

/** Google's OAuth 2.0 token endpoint (a key's `token_uri` when it names none). */
export const GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token";

/** The metadata server's host name on Google Cloud. */
export const METADATA_HOST = "metadata.google.internal";

/** How long before its expiry a cached access token is renewed. */
export const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;

/** Lifetime asked for a service account's JWT assertion (Google's maximum: one hour). */
export const ASSERTION_LIFETIME_S = 3600;

/** Timeout of one token request when the caller sets none. */
export const TOKEN_TIMEOUT_MS = 10_000;

/** Environment variables the credential lookup reads (for a plugin's `permissions.env`). */
export const GOOGLE_AUTH_ENV_VARS: readonly string[] = [
  "GCS_PATH_SERVICE_ACCOUNT",
  "GOOGLE_APPLICATION_CREDENTIALS",
  "GCE_METADATA_HOST",
];

/** The credential settings of a Google sink's `config:`. */
export interface GoogleCredentialsConfig {
  /** A service account key file's JSON itself (e.g. `os.environ/GCS_SERVICE_ACCOUNT_JSON`); never shown. */
  service_account_json?: string;
  /** A service account (or authorized user) key file's path. */
  service_account_file?: string;
}

/** Where a sink's credentials come from ({@link resolveGoogleCredentials}). */
export type GoogleCredentialSource =
  /** A key file's JSON given inline. */
  | { kind: "json"; json: string; from: string }
  /** A key file, read when the sink starts. */
  | { kind: "file"; path: string; from: string }
  /** The metadata server at `host` (`metadata.google.internal` or `GCE_METADATA_HOST`). */
  | { kind: "metadata"; host: string; from: string }
  /** No credentials: requests go out without `Authorization` (emulators). */
  | { kind: "none"; from: string };

/** A service account key, as the Cloud console's "Create new key → JSON" writes it. */
export interface ServiceAccountKey {
  /** `service_account`. */
  type: "service_account";
  /** The account's e-mail: the JWT's `iss` (shown in messages). */
  client_email: string;
  /** The PKCS#8 RSA private key in PEM form (never shown). */
  private_key: string;
  /** The key's id: the JWT header's `kid`. */
  private_key_id?: string;
  /** Where the JWT is exchanged for a token (default {@link GOOGLE_TOKEN_URI}). */
  token_uri: string;
  /** The account's project. */
  project_id?: string;
}

/** A user's credentials from `gcloud auth application-default login`. */
export interface AuthorizedUserKey {
  /** `authorized_user`. */
  type: "authorized_user";
  /** The OAuth client's id (shown in messages). */
  client_id: string;
  /** The OAuth client's secret (never shown). */
  client_secret: string;
  /** The user's refresh token (never shown). */
  refresh_token: string;
  /** Where the refresh token is exchanged (default {@link GOOGLE_TOKEN_URI}). */
  token_uri: string;
}

/** A key file's credentials. */
export type GoogleKey = ServiceAccountKey | AuthorizedUserKey;

/** Options of {@link createGoogleAuth}. */
export interface GoogleAuthOptions {
  /** The plugin's name, which starts every message (`gcs`, `gcs-pubsub`). */
  name: string;
  /** OAuth scopes the token is asked for. */
  scopes: readonly string[];
  /** The plugin context's `fetch` (timeouts, shutdown). */
  fetch: (input: string | URL | Request, init?: PluginFetchInit) => Promise<Response>;
  /** The clock in epoch ms (default `Date.now`): tests move it. */
  now?: () => number;
  /** Reads a key file (default `Deno.readTextFile`). */
  readTextFile?: (path: string) => Promise<string>;
  /** Renew a token this long before it expires (default {@link TOKEN_REFRESH_MARGIN_MS}). */
  refreshMarginMs?: number;
  /** Timeout of one token request (default {@link TOKEN_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/** A sink's source of access tokens. */
export interface GoogleAuth {
  /** Where the credentials come from. */
  readonly source: GoogleCredentialSource;
  /** Who the requests are made as, for messages: the account's e-mail, or what stands for it. */
  readonly principal: string;
  /** What an operator checks when the credentials are refused (names the setting they came from). */
  readonly hint: string;
  /**
   * The `Authorization` value (`Bearer <token>`), from the cache or a new
   * token; `undefined` without credentials (emulators).
   * @throws A sink error (retryable, events kept) when no token can be had.
   */
  authorization(): Promise<string | undefined>;
  /** Forgets the cached token (after a 401): the next call gets a new one. */
  invalidate(): void;
  /** Every secret value it holds (key, client secret, refresh and access tokens), for scrubbing. */
  secrets(): string[];
}

const nonEmpty = (value: string | undefined) => {
  const text = value?.trim();
  return text ? text : undefined;
};

/**
 * Finds a sink's credentials: `service_account_json`, `service_account_file`,
 * `GCS_PATH_SERVICE_ACCOUNT`, `GOOGLE_APPLICATION_CREDENTIALS`, then the
 * metadata server (`GCE_METADATA_HOST` or `metadata.google.internal`).
 * Reads nothing but `env`: a file is read by {@link createGoogleAuth}.
 *
 * @param config The sink's credential settings.
 * @param env Reads an environment variable (the plugin context's `env`).
 * @returns Where the credentials come from.
 *
 * @example
 * ```ts
 * import { resolveGoogleCredentials } from "@sluice/gcs/auth";
 *
 * const env = (name: string) =>
 *   name === "GCS_PATH_SERVICE_ACCOUNT" ? "/secrets/logger.json" : undefined;
 * resolveGoogleCredentials({}, env);
 * // { kind: "file", path: "/secrets/logger.json", from: "GCS_PATH_SERVICE_ACCOUNT" }
 * resolveGoogleCredentials({}, () => undefined).kind; // "metadata"
 * ```
 */
export function resolveGoogleCredentials(
  config: GoogleCredentialsConfig,
  env: (name: string) => string | undefined,
): GoogleCredentialSource {
  const json = nonEmpty(config.service_account_json);
  if (json) return { kind: "json", json, from: "config.service_account_json" };
  const file = nonEmpty(config.service_account_file);
  if (file) return { kind: "file", path: file, from: "config.service_account_file" };
  for (const name of ["GCS_PATH_SERVICE_ACCOUNT", "GOOGLE_APPLICATION_CREDENTIALS"]) {
    const path = nonEmpty(env(name));
    if (path) return { kind: "file", path, from: name };
  }
  const host = nonEmpty(env("GCE_METADATA_HOST"));
  return host
    ? { kind: "metadata", host, from: "GCE_METADATA_HOST" }
    : { kind: "metadata", host: METADATA_HOST, from: "the metadata server" };
}

/**
 * The files a source reads (for a plugin's `permissions.read`): the key
 * file, when the credentials come from one. A sandboxed plugin can read
 * only the files it is granted. `source` resolves them from the validated
 * config; when it throws, `create` reports the problem, so none is asked.
 *
 * @param source Resolves where the credentials come from.
 * @returns The key file's path, or nothing.
 *
 * @example
 * ```ts
 * import { googleAuthFiles } from "@sluice/gcs/auth";
 *
 * googleAuthFiles(() => ({ kind: "file", path: "/secrets/logger.json", from: "GCS_PATH_SERVICE_ACCOUNT" }));
 * // ["/secrets/logger.json"]
 * ```
 */
export function googleAuthFiles(source: () => GoogleCredentialSource): string[] {
  try {
    const resolved = source();
    return resolved.kind === "file" ? [resolved.path] : [];
  } catch {
    return [];
  }
}

/**
 * The URLs a source's tokens come from (for a plugin's `permissions`): an
 * inline key's `token_uri`, Google's token endpoint for a key file (read
 * only at start), the metadata server.
 *
 * @param source Where the credentials come from.
 * @returns The URLs (none for `none`).
 *
 * @example
 * ```ts
 * import { googleAuthUrls } from "@sluice/gcs/auth";
 *
 * googleAuthUrls({ kind: "metadata", host: "metadata.google.internal", from: "the metadata server" });
 * // ["http://metadata.google.internal/"]
 * ```
 */
export function googleAuthUrls(source: GoogleCredentialSource): string[] {
  switch (source.kind) {
    case "none":
      return [];
    case "metadata":
      return [metadataBase(source.host)];
    case "file":
      return [GOOGLE_TOKEN_URI];
    case "json":
      try {
        return [parseGoogleKey(source.json, source.from).token_uri];
      } catch {
        return []; // create() reports the key
      }
  }
}

function metadataBase(host: string): string {
  return new URL(emulatorUrl(host)).href;
}

/**
 * A host variable's value as a base URL (`STORAGE_EMULATOR_HOST`,
 * `PUBSUB_EMULATOR_HOST`, `GCE_METADATA_HOST` hold `host:port`):
 * `localhost:4443` → `http://localhost:4443`; a value with a scheme is kept.
 *
 * @param host The variable's value.
 * @returns The URL.
 *
 * @example
 * ```ts
 * import { emulatorUrl } from "@sluice/gcs/auth";
 *
 * emulatorUrl("localhost:8085"); // "http://localhost:8085"
 * emulatorUrl("https://gcs.test:9000/"); // "https://gcs.test:9000/"
 * ```
 */
export function emulatorUrl(host: string): string {
  const text = host.trim();
  return /^https?:\/\//i.test(text) ? text : `http://${text}`;
}

/**
 * Reads a key file's JSON: a service account key (`client_email`,
 * `private_key`, `token_uri`) or an authorized user (`client_id`,
 * `client_secret`, `refresh_token`). Messages name the missing fields and
 * `from`, never a value.
 *
 * @param json The file's text.
 * @param from Where it came from, for messages (`GCS_PATH_SERVICE_ACCOUNT`).
 * @returns The key, `token_uri` defaulted to {@link GOOGLE_TOKEN_URI}.
 * @throws Error when it is not a key Sluice can use.
 *
 * @example
 * ```ts
 * import { parseGoogleKey } from "@sluice/gcs/auth";
 *
 * const key = parseGoogleKey(JSON.stringify({
 *   type: "authorized_user",
 *   client_id: "123.apps.googleusercontent.com",
 *   client_secret: "d-example",
 *   refresh_token: "1//example",
 * }), "GOOGLE_APPLICATION_CREDENTIALS");
 * key.token_uri; // "https://oauth2.googleapis.com/token"
 * ```
 */
export function parseGoogleKey(json: string, from: string): GoogleKey {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error(`the credentials from ${from} are not JSON (expected a key file's contents)`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new Error(`the credentials from ${from} are not a JSON object`);
  }
  const key = raw as Record<string, unknown>;
  const text = (field: string) => typeof key[field] === "string" && key[field] !== "";
  const need = (fields: string[], kind: string) => {
    const missing = fields.filter((f) => !text(f));
    if (missing.length > 0) {
      throw new Error(`the ${kind} key from ${from} has no ${missing.join(", ")}`);
    }
  };
  const tokenUri = text("token_uri") ? String(key.token_uri) : GOOGLE_TOKEN_URI;
  if (!URL.canParse(tokenUri) || !/^https?:$/.test(new URL(tokenUri).protocol)) {
    throw new Error(`the token_uri of the key from ${from} is not an http(s) URL`);
  }
  if (key.type === "service_account") {
    need(["client_email", "private_key"], "service account");
    return {
      type: "service_account",
      client_email: String(key.client_email),
      private_key: String(key.private_key),
      ...(text("private_key_id") ? { private_key_id: String(key.private_key_id) } : {}),
      ...(text("project_id") ? { project_id: String(key.project_id) } : {}),
      token_uri: tokenUri,
    };
  }
  if (key.type === "authorized_user") {
    need(["client_id", "client_secret", "refresh_token"], "authorized user");
    return {
      type: "authorized_user",
      client_id: String(key.client_id),
      client_secret: String(key.client_secret),
      refresh_token: String(key.refresh_token),
      token_uri: tokenUri,
    };
  }
  const type = typeof key.type === "string" ? `"${key.type.slice(0, 40)}"` : "missing";
  throw new Error(
    `the credentials from ${from} have type ${type}: Sluice takes a service account key ` +
      `("service_account") or an authorized user ("authorized_user"); workload identity ` +
      "federation and impersonation files are not supported",
  );
}

/** The DER bytes of a PEM `PRIVATE KEY` block. */
function pemToDer(pem: string): Uint8Array<ArrayBuffer> | undefined {
  const match = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(pem);
  if (!match) return undefined;
  try {
    const bytes = Uint8Array.fromBase64(match[1].replace(/\s+/g, ""));
    return new Uint8Array(bytes);
  } catch {
    return undefined;
  }
}

const encoder = new TextEncoder();
const base64url = (bytes: Uint8Array) =>
  bytes.toBase64({ alphabet: "base64url", omitPadding: true });
const jsonPart = (value: unknown) => base64url(encoder.encode(JSON.stringify(value)));

/** A token and when it expires (epoch ms). */
interface CachedToken {
  value: string;
  expiresAt: number;
  /** When it is renewed (epoch ms). */
  renewAt: number;
}

/** How a token is asked for. */
interface TokenRequest {
  url: string;
  init: RequestInit;
  /** What the request is called in messages. */
  what: string;
}

/**
 * Creates a token source for a sink: reads and checks the key (a file is
 * read here, so a missing or unreadable file stops the sink at start),
 * imports a service account's private key, and returns a {@link GoogleAuth}
 * whose tokens are cached and renewed before they expire.
 *
 * @param source From {@link resolveGoogleCredentials} (or `{ kind: "none" }` for emulators).
 * @param options Name, scopes, `fetch`, and the clock.
 * @returns The token source.
 * @throws Error (without secrets) when the key cannot be read or used.
 *
 * @example No credentials (an emulator)
 * ```ts
 * import { createGoogleAuth } from "@sluice/gcs/auth";
 *
 * const auth = await createGoogleAuth({ kind: "none", from: "STORAGE_EMULATOR_HOST" }, {
 *   name: "gcs",
 *   scopes: [],
 *   fetch,
 * });
 * await auth.authorization(); // undefined
 * ```
 */
export async function createGoogleAuth(
  source: GoogleCredentialSource,
  options: GoogleAuthOptions,
): Promise<GoogleAuth> {
  const { name } = options;
  const now = options.now ?? Date.now;
  const margin = options.refreshMarginMs ?? TOKEN_REFRESH_MARGIN_MS;
  const timeoutMs = options.timeoutMs ?? TOKEN_TIMEOUT_MS;
  const scope = options.scopes.join(" ");

  if (source.kind === "none") {
    return {
      source,
      principal: `no credentials (${source.from})`,
      hint: `requests carry no credentials because ${source.from} is set`,
      authorization: () => Promise.resolve(undefined),
      invalidate() {},
      secrets: () => [],
    };
  }

  let key: GoogleKey | undefined;
  if (source.kind === "json" || source.kind === "file") {
    let text = source.kind === "json" ? source.json : "";
    if (source.kind === "file") {
      try {
        text = await (options.readTextFile ?? Deno.readTextFile)(source.path);
      } catch (error) {
        throw new Error(`${name}: ${readFailure(error, source)}`);
      }
    }
    try {
      key = parseGoogleKey(text, source.from);
    } catch (error) {
      throw new Error(`${name}: ${(error as Error).message}`);
    }
  }

  let signingKey: CryptoKey | undefined;
  if (key?.type === "service_account") {
    const der = pemToDer(key.private_key);
    try {
      if (!der) throw new Error("not PEM");
      signingKey = await crypto.subtle.importKey(
        "pkcs8",
        der,
        { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
        false,
        ["sign"],
      );
    } catch {
      throw new Error(
        `${name}: the private_key of the service account key from ${source.from} is not an RSA ` +
          "key in PKCS#8 PEM form (-----BEGIN PRIVATE KEY-----): download a new JSON key",
      );
    }
  }

  const principal = key?.type === "service_account"
    ? `service account ${key.client_email}`
    : key?.type === "authorized_user"
    ? `the user of OAuth client ${key.client_id}`
    : `the metadata server's default service account (${
      displayUrl(metadataBase((source as { host: string }).host))
    })`;
  const hint = source.kind === "metadata"
    ? "check the instance's service account and its access scopes, or set service_account_file"
    : `check the key from ${source.from} (it may be deleted or disabled) and this machine's clock`;

  const keySecrets: string[] = key?.type === "service_account"
    ? [key.private_key]
    : key?.type === "authorized_user"
    ? [key.client_secret, key.refresh_token]
    : [];
  const issued: string[] = [];
  let cached: CachedToken | undefined;
  let pending: Promise<CachedToken> | undefined;

  const scrub = (text: string) => secretScrubber([...keySecrets, ...issued])(text);

  async function request(): Promise<TokenRequest> {
    if (key?.type === "service_account") {
      const iat = Math.floor(now() / 1000);
      const header = {
        alg: "RS256",
        typ: "JWT",
        ...(key.private_key_id ? { kid: key.private_key_id } : {}),
      };
      const claims = {
        iss: key.client_email,
        scope,
        aud: key.token_uri,
        iat,
        exp: iat + ASSERTION_LIFETIME_S,
      };
      const unsigned = `${jsonPart(header)}.${jsonPart(claims)}`;
      const signature = await crypto.subtle.sign(
        "RSASSA-PKCS1-v1_5",
        signingKey!,
        encoder.encode(unsigned),
      );
      return {
        url: key.token_uri,
        what: `the token endpoint ${displayUrl(key.token_uri)}`,
        init: {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer",
            assertion: `${unsigned}.${base64url(new Uint8Array(signature))}`,
          }).toString(),
        },
      };
    }
    if (key?.type === "authorized_user") {
      return {
        url: key.token_uri,
        what: `the token endpoint ${displayUrl(key.token_uri)}`,
        init: {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            grant_type: "refresh_token",
            client_id: key.client_id,
            client_secret: key.client_secret,
            refresh_token: key.refresh_token,
          }).toString(),
        },
      };
    }
    const base = metadataBase((source as { host: string }).host);
    const url = new URL("computeMetadata/v1/instance/service-accounts/default/token", base);
    if (scope) url.searchParams.set("scopes", options.scopes.join(","));
    return {
      url: url.href,
      what: `the metadata server ${displayUrl(base)}`,
      init: { method: "GET", headers: { "metadata-flavor": "Google" } },
    };
  }

  async function fetchToken(): Promise<CachedToken> {
    const { url, init, what } = await request();
    let res: Response;
    try {
      res = await options.fetch(url, { ...init, redirect: "manual", timeoutMs });
    } catch (error) {
      const failed = fetchFailure(error, `${name}: the token request to ${what}`, timeoutMs, scrub);
      if (
        source.kind === "metadata" && !(error instanceof Error && /Timeout|Abort/.test(error.name))
      ) {
        throw sinkError(
          `${failed.message}. No Google credentials were found: set service_account_file or ` +
            "service_account_json in the sink's config, GCS_PATH_SERVICE_ACCOUNT or " +
            "GOOGLE_APPLICATION_CREDENTIALS, or run on Google Cloud; the events are kept and retried",
        );
      }
      throw sinkError(`${failed.message}; the events are kept and retried`);
    }
    const outcome = classify(res);
    const text = await res.text().catch(() => "");
    if (outcome.kind === "ok") {
      let body: { access_token?: unknown; expires_in?: unknown } = {};
      try {
        body = JSON.parse(text);
      } catch {
        // reported below
      }
      const token = typeof body.access_token === "string" ? body.access_token : "";
      if (!token) {
        throw sinkError(
          `${name}: ${what} answered ${res.status} without an access_token; retrying`,
        );
      }
      issued.splice(0, issued.length, token);
      const lifetimeMs = Math.max(0, Number(body.expires_in ?? 3600) * 1000 || 0);
      const at = now();
      return {
        value: token,
        expiresAt: at + lifetimeMs,
        renewAt: at + lifetimeMs - Math.min(margin, lifetimeMs / 2),
      };
    }
    throw tokenFailure(outcome, res, text, what);
  }

  /** A refused token request: the key's fault is never the events' (no `permanent`). */
  function tokenFailure(
    outcome: HttpFailure,
    res: Response,
    text: string,
    what: string,
  ): HttpSinkError {
    const refused: HttpFailure = outcome.kind === "permanent"
      ? { kind: "keep", status: outcome.status, reason: "credentials" }
      : outcome;
    const detail = oauthError(text);
    const answered = `${name}: ${what} refused a token for ${principal}: ${res.status}${
      res.statusText ? ` ${res.statusText}` : ""
    }${detail ? ` (${detail})` : ""}`;
    return failureError(refused, answered, {
      credentials: hint,
      url: source.kind === "metadata"
        ? "check GCE_METADATA_HOST"
        : `check the token_uri of the key from ${source.from}`,
      retry: "the events are kept and retried",
    }, scrub);
  }

  return {
    source,
    principal,
    hint,
    async authorization() {
      if (cached && now() < cached.renewAt) return `Bearer ${cached.value}`;
      pending ??= fetchToken().finally(() => (pending = undefined));
      cached = await pending;
      return `Bearer ${cached.value}`;
    },
    invalidate() {
      cached = undefined;
    },
    secrets: () => [...keySecrets, ...issued],
  };
}

/** `error: error_description` of an OAuth error answer (RFC 6749 §5.2), else a short excerpt. */
function oauthError(text: string): string {
  let detail = text.trim();
  try {
    const body = JSON.parse(text);
    if (typeof body?.error === "string") {
      detail = typeof body.error_description === "string"
        ? `${body.error}: ${body.error_description}`
        : body.error;
    } else if (typeof body?.error?.message === "string") {
      detail = body.error.message;
    }
  } catch {
    // plain text
  }
  detail = detail.replace(/\s+/g, " ");
  return detail.length > 200 ? `${detail.slice(0, 200)}…` : detail;
}

/** Why a key file could not be read, with what to do (a sandboxed plugin reads only granted files). */
function readFailure(error: unknown, source: { path: string; from: string }): string {
  const what = `cannot read the key file named by ${source.from} (${source.path})`;
  if (error instanceof Deno.errors.NotFound) return `${what}: no such file`;
  if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
    return `${what}: this process may not read it. A sandboxed plugin reads only the files ` +
      "it is granted: list the file in this sink entry's permissions.read, or pass the key's " +
      "JSON in service_account_json (os.environ/NAME works)";
  }
  return `${what}: ${error instanceof Error ? error.message : String(error)}`;
}
