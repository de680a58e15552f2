/**
 * `log.transport:` resolved to what a transport needs: the engine URL (with
 * LiteLLM's `REDIS_URL`, `REDIS_HOST`, `REDIS_PORT`, `REDIS_PASSWORD` for
 * Redis), the stream name and its limits. Messages name the key path and
 * never show a credential.
 * @module
 */
import type { LogTransportConfig } from "../config/types.ts";
import type { TransportKind, TransportOptions } from "./types.ts";

/** A stream transport, resolved: which engine and how to reach it. */
export interface ResolvedTransport {
  /** The engine. */
  kind: Exclude<TransportKind, "local">;
  /** What its opener takes. */
  options: TransportOptions;
  /** Credentials to mask wherever text leaves (the URL's password, `REDIS_PASSWORD`). */
  secrets: string[];
}

/** A `log.transport` problem, naming the key path. */
export class TransportConfigError extends Error {
  /** Key path, e.g. `log.transport.url`. */
  readonly path: string;
  /** Always `transport_config`. */
  readonly code = "transport_config";

  /**
   * @param path The key path.
   * @param message What is wrong and what to do.
   */
  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    this.path = path;
    this.name = "TransportConfigError";
  }
}

const SCHEMES: Record<Exclude<TransportKind, "local">, string[]> = {
  nats: ["nats:", "tls:"],
  redis: ["redis:", "rediss:"],
};

/**
 * Resolves `log.transport`; `undefined` for `local`.
 *
 * @param config The validated `log.transport`.
 * @param env Reads an environment variable (Redis falls back to LiteLLM's names).
 * @returns The engine, its options and the secrets to mask.
 * @throws {TransportConfigError} A URL that is not the engine's, naming `log.transport.url`.
 *
 * @example
 * ```ts
 * import { resolveTransport } from "./options.ts";
 * const t = resolveTransport(
 *   { kind: "redis", stream: "sluice-events", ack_wait_ms: 30000, max_attempts: 10 },
 *   (name) => ({ REDIS_HOST: "cache", REDIS_PORT: "6380" } as Record<string, string>)[name],
 * );
 * console.log(t?.options.url); // "redis://cache:6380"
 * ```
 */
export function resolveTransport(
  config: LogTransportConfig,
  env: (name: string) => string | undefined = (name) => Deno.env.get(name),
): ResolvedTransport | undefined {
  if (config.kind === "local") return undefined;
  const kind = config.kind;
  let url = config.url;
  let password: string | undefined;
  let from = "log.transport.url";
  if (kind === "redis") {
    password = env("REDIS_PASSWORD") || undefined;
    if (!url && env("REDIS_URL")) {
      url = env("REDIS_URL");
      from = "REDIS_URL";
    } else if (!url && env("REDIS_HOST")) {
      const port = env("REDIS_PORT") || "6379";
      if (!/^\d{1,5}$/.test(port)) {
        throw new TransportConfigError("REDIS_PORT", "expected a port number (1-65535)");
      }
      url = `redis://${hostForUrl(env("REDIS_HOST")!)}:${port}`;
      from = "REDIS_HOST";
    }
  }
  url ??= kind === "nats" ? "nats://127.0.0.1:4222" : "redis://127.0.0.1:6379";
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TransportConfigError(from, `expected a ${kind} URL like ${example(kind)}`);
  }
  if (!SCHEMES[kind].includes(parsed.protocol)) {
    throw new TransportConfigError(
      from,
      `expected a ${kind} URL like ${example(kind)}, got scheme "${parsed.protocol}"`,
    );
  }
  if (!parsed.hostname) {
    throw new TransportConfigError(from, `the URL has no host (expected ${example(kind)})`);
  }
  const secrets = [password, decodeURIComponent(parsed.password)];
  if (kind === "nats" && parsed.username && !parsed.password) {
    secrets.push(decodeURIComponent(parsed.username)); // a token
  }
  return {
    kind,
    options: {
      url,
      stream: config.stream,
      ...(config.max_bytes !== undefined ? { maxBytes: config.max_bytes } : {}),
      ...(config.max_age_ms !== undefined ? { maxAgeMs: config.max_age_ms } : {}),
      ...(password !== undefined ? { password } : {}),
    },
    secrets: secrets.filter((s): s is string => !!s),
  };
}

function example(kind: string): string {
  return kind === "nats" ? "nats://host:4222" : "redis://host:6379";
}

function hostForUrl(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/**
 * A URL as messages show it: scheme, host and port, never user info.
 *
 * @param url An engine URL.
 * @returns e.g. `redis://cache:6379`.
 */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return "(an unparsable URL)";
  }
}

/**
 * A sink name as one NATS subject token or consumer name: letters, digits,
 * `_` and `-` as they are; any other character as `~` and its code in hex.
 *
 * @param name A sink instance name.
 * @returns The token, e.g. `my~2esink` for `my.sink`.
 */
export function subjectToken(name: string): string {
  return name.replace(
    /[^A-Za-z0-9_-]/g,
    (c) => `~${c.codePointAt(0)!.toString(16)}`,
  );
}

/**
 * The stream's limits as start-up lines show them.
 *
 * @param options The transport options.
 * @returns e.g. `limits: max_bytes 1073741824, max_age_ms 86400000`, or a note that there are none.
 */
export function describeLimits(options: TransportOptions): string {
  const parts = [
    options.maxBytes !== undefined ? `max_bytes ${options.maxBytes}` : "",
    options.maxAgeMs !== undefined ? `max_age_ms ${options.maxAgeMs}` : "",
  ].filter(Boolean);
  return parts.length > 0
    ? `limits: ${parts.join(", ")} (oldest messages dropped past them)`
    : "no size or age limit (the stream grows while workers are behind)";
}
