/**
 * Starts a Sluice gateway on a loopback port for tests.
 * @module
 */
import { createGateway, type Gateway, type GatewayConfigInput } from "../../core/mod.ts";

/** A gateway served on 127.0.0.1. */
export interface TestGateway {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** The gateway itself. */
  gateway: Gateway;
  /** Stops the server and closes the gateway (flushing sinks). */
  close(): Promise<void>;
}

/**
 * Serves a gateway built from `config` on a random loopback port. Without a
 * `server.data_dir`, the gateway gets a fresh one of its own, removed at
 * close: tests run in parallel, and a shared `./.sluice` would hand one
 * test's spooled events to another.
 */
export async function startGateway(config: GatewayConfigInput): Promise<TestGateway> {
  const ownDir = config.server?.data_dir === undefined
    ? await Deno.makeTempDir({ prefix: "sluice-gw-" })
    : undefined;
  const gateway = await createGateway(
    ownDir ? { ...config, server: { ...config.server, data_dir: ownDir } } : config,
  );
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, gateway.fetch);
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    gateway,
    async close() {
      await server.shutdown();
      await gateway.close();
      if (ownDir) {
        await Deno.remove(ownDir, { recursive: true }).catch((error) => {
          if (!(error instanceof Deno.errors.NotFound)) throw error; // NotFound: closed twice
        });
      }
    },
  };
}

/** Reads every event the JSONL sink wrote under `dir`. */
export async function readJsonlEvents(dir: string): Promise<Record<string, unknown>[]> {
  const events: Record<string, unknown>[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".jsonl")) continue;
    const text = await Deno.readTextFile(`${dir}/${entry.name}`);
    for (const line of text.split("\n")) if (line) events.push(JSON.parse(line));
  }
  return events;
}
