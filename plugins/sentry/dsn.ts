/**
 * Sentry DSNs: parsing, the envelope endpoint and the `X-Sentry-Auth` header.
 * @module
 */
import { makeDsn } from "@sentry/core";

/**
 * The parts of a DSN, `{protocol}://{public_key}[:{secret_key}]@{host}[:{port}]{path}/{project_id}`.
 * Every part is a string, as Sentry's own SDKs keep them.
 */
export interface SentryDsn {
  /** `http` or `https`. */
  protocol: "http" | "https";
  /** The public key (the user part): sent as `sentry_key`. */
  publicKey: string;
  /** The deprecated secret key, when the DSN still carries one (else `""`). */
  secretKey: string;
  /** Host name (IPv6 addresses in brackets). */
  host: string;
  /** Port, or `""` for the protocol's default. */
  port: string;
  /** Path before the project id, without leading or trailing slash (usually `""`). */
  path: string;
  /** The project id (digits). */
  projectId: string;
}

const DSN_SHAPE = "expected {scheme}://{public key}@{host}/{project id}";

/**
 * Parses and checks a DSN. Error messages never repeat the DSN (it is a
 * secret in the gateway's config): they name the part that is wrong.
 *
 * The DSN is read with the platform's `URL` parser and then validated with
 * `@sentry/core`'s `makeDsn`, so the result is exactly what Sentry's SDKs
 * accept. (`@sentry/core`'s `dsnFromString` is not used on unchecked text:
 * it prints an invalid DSN to the console.)
 *
 * @param text The DSN.
 * @returns Its parts.
 * @throws {Error} When the text is not a usable DSN.
 *
 * @example
 * ```ts
 * import { parseDsn } from "@sluice/sentry";
 * const dsn = parseDsn("https://e12d836b15bb49d7bbf99e64295d995b@o123.ingest.sentry.io/42");
 * dsn.publicKey; // "e12d836b15bb49d7bbf99e64295d995b"
 * dsn.projectId; // "42"
 * ```
 */
export function parseDsn(text: string): SentryDsn {
  if (typeof text !== "string" || text.trim() === "") {
    throw new Error(`sentry: the DSN is empty (${DSN_SHAPE})`);
  }
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new Error(`sentry: the DSN is not a URL (${DSN_SHAPE})`);
  }
  const protocol = url.protocol.slice(0, -1);
  if (protocol !== "http" && protocol !== "https") {
    throw new Error(`sentry: the DSN must use http or https; it uses ${url.protocol}`);
  }
  const publicKey = decodeURIComponent(url.username);
  if (!/^\w+$/.test(publicKey)) {
    throw new Error(`sentry: the DSN has no public key before "@" (${DSN_SHAPE})`);
  }
  const secretKey = decodeURIComponent(url.password);
  if (secretKey !== "" && !/^\w+$/.test(secretKey)) {
    throw new Error("sentry: the DSN's secret key must be letters and digits");
  }
  const segments = url.pathname.split("/").filter((s) => s !== "");
  const projectId = segments.pop() ?? "";
  if (!/^\d+$/.test(projectId)) {
    throw new Error(`sentry: the DSN must end with a numeric project id (${DSN_SHAPE})`);
  }
  const checked = makeDsn({
    protocol,
    publicKey,
    pass: secretKey,
    host: url.hostname,
    port: url.port,
    path: segments.join("/"),
    projectId,
  });
  if (!checked) throw new Error(`sentry: the DSN is not valid (${DSN_SHAPE})`);
  return {
    protocol,
    publicKey: checked.publicKey ?? publicKey,
    secretKey: checked.pass ?? "",
    host: checked.host,
    port: checked.port ?? "",
    path: checked.path ?? "",
    projectId: checked.projectId,
  };
}

/**
 * The DSN's envelope endpoint, `{protocol}://{host}[:{port}][/{path}]/api/{project_id}/envelope/`
 * (trailing slash included). It carries no key, so it is safe to show.
 *
 * @param dsn A parsed DSN.
 * @returns The URL envelopes are POSTed to.
 *
 * @example
 * ```ts
 * import { envelopeEndpoint, parseDsn } from "@sluice/sentry";
 * envelopeEndpoint(parseDsn("https://abc@o123.ingest.sentry.io/42"));
 * // "https://o123.ingest.sentry.io/api/42/envelope/"
 * ```
 */
export function envelopeEndpoint(dsn: SentryDsn): string {
  const port = dsn.port ? `:${dsn.port}` : "";
  const path = dsn.path ? `/${dsn.path}` : "";
  return `${dsn.protocol}://${dsn.host}${port}${path}/api/${dsn.projectId}/envelope/`;
}

/**
 * The `X-Sentry-Auth` header value: `Sentry sentry_version=7,
 * sentry_key=<public key>, sentry_client=<client>`, plus the deprecated
 * `sentry_secret` only when the DSN has one.
 *
 * @param dsn A parsed DSN.
 * @param client `<name>/<version>` of the sender.
 * @returns The header value.
 *
 * @example
 * ```ts
 * import { parseDsn, sentryAuthHeader } from "@sluice/sentry";
 * sentryAuthHeader(parseDsn("https://abc@sentry.example.com/7"), "sluice-sentry/0.1.0");
 * // "Sentry sentry_version=7, sentry_key=abc, sentry_client=sluice-sentry/0.1.0"
 * ```
 */
export function sentryAuthHeader(dsn: SentryDsn, client: string): string {
  const secret = dsn.secretKey ? `, sentry_secret=${dsn.secretKey}` : "";
  return `Sentry sentry_version=7, sentry_key=${dsn.publicKey}, sentry_client=${client}${secret}`;
}
