/**
 * The one place that maps an engine to its transport. Each engine's client
 * is imported only when that engine is configured, so a `local` gateway
 * never loads it.
 * @module
 */
import type { LogTransport, TransportKind, TransportOptions } from "./types.ts";

/**
 * Opens a stream transport; throws when the engine cannot be reached.
 *
 * @param kind `nats` or `redis`.
 * @param options Where the engine is and what the stream is called.
 * @returns The connected transport.
 */
export async function openTransport(
  kind: Exclude<TransportKind, "local">,
  options: TransportOptions,
): Promise<LogTransport> {
  switch (kind) {
    case "nats":
      return (await import("./nats.ts")).openNatsTransport(options);
    case "redis":
      return (await import("./redis.ts")).openRedisTransport(options);
  }
}
