/**
 * Runs the gateway CLI (`mod.ts --config`) as a child process on a free
 * loopback port: for tests that kill it, starve it of disk or watch its CPU.
 * @module
 */
import { until } from "./outage.ts";

const MOD = new URL("../../mod.ts", import.meta.url).pathname;

/** A gateway child process. */
export interface CliGateway {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** The child. */
  child: Deno.ChildProcess;
  /** Everything it wrote to stderr so far. */
  stderr(): string;
  /** CPU seconds (user + system) it has used, from /proc. */
  cpuSeconds(): number;
  /** Sends SIGTERM and waits for the exit code. */
  terminate(): Promise<number>;
  /** Sends SIGKILL and waits for the process to be gone. */
  kill(): Promise<void>;
}

/** A free loopback port. */
export function freePort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  return port;
}

/** Where and how the child runs. */
export interface CliOptions {
  /** Working directory (the embedded default's data dir is relative to it). */
  cwd?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/**
 * Starts `mod.ts --config <configPath>` (the embedded default when
 * `configPath` is undefined) and waits until liveness answers.
 */
export async function startCliGateway(
  configPath: string | undefined,
  options: CliOptions = {},
): Promise<CliGateway> {
  const port = freePort();
  const config = configPath ? ["--config", configPath] : [];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MOD, ...config, "--port", String(port)],
    cwd: options.cwd,
    stdout: "null",
    stderr: "piped",
    env: options.env,
  }).spawn();
  let stderr = "";
  const decoder = new TextDecoder();
  const drained = child.stderr.pipeTo(
    new WritableStream({ write: (chunk) => void (stderr += decoder.decode(chunk)) }),
  ).catch(() => {});
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const url = `http://127.0.0.1:${port}`;
  await until(
    async () => {
      if (exited) throw new Error(`the gateway exited at start:\n${stderr}`);
      try {
        const res = await fetch(`${url}/health/liveness`);
        await res.body?.cancel();
        return res.ok;
      } catch {
        return false;
      }
    },
    30_000,
    "the gateway to start",
  );
  const clockTicks = 100; // USER_HZ on Linux
  return {
    url,
    child,
    stderr: () => stderr,
    cpuSeconds() {
      const stat = Deno.readTextFileSync(`/proc/${child.pid}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(fields[11]) + Number(fields[12])) / clockTicks;
    },
    async terminate() {
      child.kill("SIGTERM");
      const { code } = await status;
      await drained;
      return code;
    },
    async kill() {
      child.kill("SIGKILL");
      await status;
      await drained;
    },
  };
}
