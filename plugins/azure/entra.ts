/**
 * Microsoft Entra ID's OAuth 2.0 client credentials flow for a sink: an
 * app registration's tenant, client id and secret exchanged at
 * `{authority}/{tenant}/oauth2/v2.0/token` for an access token of one
 * resource (`scope` `<resource>/.default`). Tokens are cached, shared by
 * concurrent requests (one token request in flight) and renewed before
 * they expire; after a 401 a sink calls {@link EntraAuth.invalidate} and
 * sends once more with a new token.
 *
 * Written from Microsoft's "OAuth 2.0 client credentials flow" reference
 * (https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow).
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

/** Azure's public cloud authority (`AZURE_AUTHORITY_HOST` overrides it, as in Azure's SDKs). */
export const ENTRA_AUTHORITY_HOST = "https://login.microsoftonline.com";

/** How long before its expiry a cached token is renewed. */
export const ENTRA_REFRESH_MARGIN_MS = 5 * 60_000;

/** Timeout of one token request. */
export const ENTRA_TOKEN_TIMEOUT_MS = 10_000;

/** An app registration's client credentials. */
export interface EntraCredentials {
  /** The directory (tenant) id or domain. */
  tenantId: string;
  /** The application (client) id. */
  clientId: string;
  /** The client secret's value: a secret. */
  clientSecret: string;
  /** The authority host (default {@link ENTRA_AUTHORITY_HOST}; e.g. `https://login.microsoftonline.us`). */
  authorityHost?: string;
  /** The settings they came from, for messages (e.g. `AZURE_STORAGE_CLIENT_SECRET`). */
  from: string;
}

/** Options of {@link createEntraAuth}. */
export interface EntraAuthOptions {
  /** The plugin's name, which starts every message (`azure-blob`). */
  name: string;
  /** The scope asked for: the resource's `.default` (`https://storage.azure.com/.default`). */
  scope: string;
  /** The plugin context's `fetch` (timeouts, shutdown). */
  fetch: (input: string | URL | Request, init?: PluginFetchInit) => Promise<Response>;
  /** The clock in epoch ms (default `Date.now`): tests move it. */
  now?: () => number;
  /** Renew a token this long before it expires (default {@link ENTRA_REFRESH_MARGIN_MS}). */
  refreshMarginMs?: number;
  /** Timeout of one token request (default {@link ENTRA_TOKEN_TIMEOUT_MS}). */
  timeoutMs?: number;
}

/** A sink's source of Entra ID access tokens. */
export interface EntraAuth {
  /** Who the requests are made as, for messages (`app <client id> in tenant <tenant>`). */
  readonly principal: string;
  /** What an operator checks when the credentials are refused (names the settings). */
  readonly hint: string;
  /** The token endpoint. */
  readonly tokenUrl: string;
  /**
   * The `Authorization` value (`Bearer <token>`), from the cache or a new token.
   * @throws A sink error (events kept, never `permanent`) when no token can be had.
   */
  authorization(): Promise<string>;
  /** Forgets the cached token (after a 401): the next call gets a new one. */
  invalidate(): void;
  /** The client secret and the tokens issued, for scrubbing. */
  secrets(): string[];
}

/**
 * The token endpoint of a tenant: `{authorityHost}/{tenant}/oauth2/v2.0/token`.
 *
 * @param tenantId The tenant id or domain.
 * @param authorityHost The authority (default {@link ENTRA_AUTHORITY_HOST}).
 * @returns The URL.
 * @throws Error when the authority host is not an http(s) URL.
 *
 * @example
 * ```ts
 * import { entraTokenUrl } from "@sluice/azure";
 *
 * entraTokenUrl("contoso.onmicrosoft.com");
 * // "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
 * entraTokenUrl("t1", "https://login.microsoftonline.us/");
 * // "https://login.microsoftonline.us/t1/oauth2/v2.0/token"
 * ```
 */
export function entraTokenUrl(tenantId: string, authorityHost = ENTRA_AUTHORITY_HOST): string {
  let base: URL;
  try {
    base = new URL(authorityHost);
  } catch {
    throw new Error("the authority host is not a URL (e.g. https://login.microsoftonline.com)");
  }
  if (base.protocol !== "https:" && base.protocol !== "http:") {
    throw new Error("the authority host must be an https:// URL");
  }
  const path = base.pathname.replace(/\/+$/, "");
  return `${base.origin}${path}/${encodeURIComponent(tenantId)}/oauth2/v2.0/token`;
}

/** A token and when it is renewed (epoch ms). */
interface CachedToken {
  value: string;
  renewAt: number;
}

/**
 * Creates a token source for a sink from an app registration's client
 * credentials (`grant_type=client_credentials`, the secret in the form
 * body). Nothing is requested until the first {@link EntraAuth.authorization}.
 *
 * Refusals keep the events (never `permanent`, even for Entra's 400
 * `invalid_client`): the message names the tenant, the client id, the
 * settings to check and Entra's error code (`AADSTS7000215`), never the
 * secret or a token.
 *
 * @param credentials Tenant, client id, secret and authority.
 * @param options Name, scope, `fetch` and the clock.
 * @returns The token source.
 * @throws Error when the authority host is not a URL.
 *
 * @example
 * ```ts
 * import { createEntraAuth } from "@sluice/azure";
 *
 * // A stand-in for the token endpoint.
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0 }, async (req) => {
 *   const form = new URLSearchParams(await req.text());
 *   console.log(new URL(req.url).pathname, form.get("grant_type"), form.get("scope"));
 *   return Response.json({ token_type: "Bearer", expires_in: 3599, access_token: "eyJ0.fake" });
 * });
 * const auth = createEntraAuth({
 *   tenantId: "contoso",
 *   clientId: "11111111-2222-3333-4444-555555555555",
 *   clientSecret: "example-client-secret",
 *   authorityHost: `http://127.0.0.1:${server.addr.port}`,
 *   from: "the example",
 * }, { name: "example", scope: "https://storage.azure.com/.default", fetch });
 * await auth.authorization(); // "Bearer eyJ0.fake" (/contoso/oauth2/v2.0/token client_credentials …)
 * await auth.authorization(); // the same, from the cache
 * await server.shutdown();
 * ```
 */
export function createEntraAuth(
  credentials: EntraCredentials,
  options: EntraAuthOptions,
): EntraAuth {
  const { name } = options;
  const now = options.now ?? Date.now;
  const margin = options.refreshMarginMs ?? ENTRA_REFRESH_MARGIN_MS;
  const timeoutMs = options.timeoutMs ?? ENTRA_TOKEN_TIMEOUT_MS;
  const tokenUrl = entraTokenUrl(credentials.tenantId, credentials.authorityHost);
  const shownUrl = displayUrl(tokenUrl);
  const principal = `app ${credentials.clientId} in tenant ${credentials.tenantId}`;
  const hint = `check the tenant id, client id and client secret (${credentials.from}): ` +
    "the secret may have expired or been deleted";
  const issued: string[] = [];
  let cached: CachedToken | undefined;
  let pending: Promise<CachedToken> | undefined;
  const scrub = (text: string) => secretScrubber([credentials.clientSecret, ...issued])(text);

  async function fetchToken(): Promise<CachedToken> {
    let res: Response;
    try {
      res = await options.fetch(tokenUrl, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: credentials.clientId,
          client_secret: credentials.clientSecret,
          scope: options.scope,
        }).toString(),
        redirect: "manual",
        timeoutMs,
      });
    } catch (error) {
      const failed = fetchFailure(
        error,
        `${name}: the token request to ${shownUrl}`,
        timeoutMs,
        scrub,
      );
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
          `${name}: ${shownUrl} answered ${res.status} without an access_token; retrying`,
        );
      }
      issued.splice(0, issued.length, token);
      const lifetimeMs = Math.max(0, Number(body.expires_in ?? 3600) * 1000 || 0);
      return { value: token, renewAt: now() + lifetimeMs - Math.min(margin, lifetimeMs / 2) };
    }
    throw tokenFailure(outcome, res, text);
  }

  /** A refused token request: the credentials' fault is never the events' (no `permanent`). */
  function tokenFailure(outcome: HttpFailure, res: Response, text: string): HttpSinkError {
    const refused: HttpFailure = outcome.kind === "permanent"
      ? { kind: "keep", status: outcome.status, reason: "credentials" }
      : outcome;
    const detail = entraErrorDetail(text);
    const answered =
      `${name}: Entra ID (${shownUrl}) refused a token for ${principal}: ${res.status}${
        res.statusText ? ` ${res.statusText}` : ""
      }${detail ? ` (${detail})` : ""}`;
    return failureError(refused, answered, {
      credentials: hint,
      url: `check the tenant id and the authority host (${credentials.from})`,
      retry: "the events are kept and retried",
    }, scrub);
  }

  return {
    principal,
    hint,
    tokenUrl,
    async authorization() {
      if (cached && now() < cached.renewAt) return `Bearer ${cached.value}`;
      pending ??= fetchToken().finally(() => (pending = undefined));
      cached = await pending;
      return `Bearer ${cached.value}`;
    },
    invalidate() {
      cached = undefined;
    },
    secrets: () => [credentials.clientSecret, ...issued],
  };
}

/**
 * The stable part of an Entra ID error answer: `error` and the first
 * sentence of `error_description` (its `AADSTS` code and cause), without
 * the trace and correlation ids that change with every request.
 *
 * @param text The answer's body.
 * @returns The detail, or a short excerpt of a body that is not Entra's JSON.
 *
 * @example
 * ```ts
 * import { entraErrorDetail } from "@sluice/azure";
 *
 * entraErrorDetail(JSON.stringify({
 *   error: "invalid_client",
 *   error_description: "AADSTS7000215: Invalid client secret provided. Trace ID: 1 Correlation ID: 2",
 * })); // "invalid_client: AADSTS7000215: Invalid client secret provided."
 * ```
 */
export function entraErrorDetail(text: string): string {
  try {
    const body = JSON.parse(text);
    if (typeof body?.error === "string") {
      const description = typeof body.error_description === "string"
        ? body.error_description.split(/\r?\n| Trace ID:/)[0].trim()
        : "";
      return description ? `${body.error}: ${description}` : body.error;
    }
  } catch {
    // not JSON
  }
  const excerpt = text.replace(/\s+/g, " ").trim();
  return excerpt.length > 200 ? `${excerpt.slice(0, 200)}…` : excerpt;
}
