/**
 * What the scale-out tests need around them: whether the shared NATS and
 * Redis services run (in CI a missing one fails the test; elsewhere the
 * test is ignored with a line saying so), private engine processes on
 * random ports that a test may stop and start, and stream clean-up.
 * @module
 */
import { connect } from "npm:@nats-io/transport-node@3.4.0";
import { jetstreamManager } from "npm:@nats-io/jetstream@3.4.0";

/** The shared NATS server (with JetStream) CI starts. */
export const NATS_URL = "nats://127.0.0.1:4222";
/** The shared Redis server CI starts. */
export const REDIS_URL = "redis://127.0.0.1:6379";

async function listening(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

function onPath(binary: string): boolean {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin").split(":").concat("/usr/sbin")) {
    try {
      if (Deno.statSync(`${dir}/${binary}`).isFile) return true;
    } catch {
      // not there
    }
  }
  return false;
}

/** Whether tests needing `service` run: true when it is there, or in CI (where they then fail). */
export async function serviceAvailable(
  service: "nats" | "redis",
  needs: { binary?: boolean } = {},
): Promise<boolean> {
  const port = service === "nats" ? 4222 : 6379;
  const binary = service === "nats" ? "nats-server" : "redis-server";
  const up = await listening(port) && (!needs.binary || onPath(binary));
  if (up || Deno.env.get("CI")) return true;
  console.log(
    `NOT RUN: the ${service} service tests (no ${service} at 127.0.0.1:${port}` +
      `${
        needs.binary ? ` or no ${binary} binary` : ""
      }); \`deno task test:services\` in CI runs them`,
  );
  return false;
}

/** A unique stream name for one test. */
export function uniqueStream(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Deletes a NATS stream and its dead-letter stream (missing ones are fine). */
export async function deleteNatsStreams(url: string, stream: string): Promise<void> {
  const u = new URL(url);
  const nc = await connect({ servers: `${u.hostname}:${u.port || 4222}` });
  try {
    const jsm = await jetstreamManager(nc);
    for (const name of [stream, `${stream}-dlq`]) await jsm.streams.delete(name).catch(() => {});
  } finally {
    await nc.close();
  }
}

/** A private engine process on a random port that a test can stop and start again. */
export interface EngineProcess {
  /** `nats://127.0.0.1:<port>` or `redis://127.0.0.1:<port>`. */
  url: string;
  /** Its port (kept across restarts). */
  port: number;
  /** Kills it (SIGKILL) and waits until the port is closed. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory; waits until it listens. */
  start(): Promise<void>;
  /** Stops it and removes its data directory. */
  dispose(): Promise<void>;
}

function freePort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  return port;
}

/** Starts a private `nats-server -js` or `redis-server` with its own data directory. */
export async function startEngine(kind: "nats" | "redis"): Promise<EngineProcess> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: `sluice-${kind}-` });
  let child: Deno.ChildProcess | undefined;
  const args = kind === "nats" ? ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", dir] : [
    "--bind",
    "127.0.0.1",
    "--port",
    String(port),
    "--save",
    "",
    "--appendonly",
    "yes",
    "--dir",
    dir,
  ];
  const binary = kind === "nats" ? "nats-server" : "redis-server";
  const start = async () => {
    child = new Deno.Command(binary, { args, stdout: "null", stderr: "null" }).spawn();
    const end = Date.now() + 15_000;
    while (!(await listening(port))) {
      if (Date.now() > end) throw new Error(`${binary} did not listen on ${port}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async () => {
    if (!child) return;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await child.status;
    child = undefined;
  };
  await start();
  return {
    url: `${kind}://127.0.0.1:${port}`,
    port,
    stop,
    start,
    async dispose() {
      await stop();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
