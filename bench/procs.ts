/**
 * Child-process plumbing for the load benchmark: spawn `deno run` servers,
 * wait until they answer, read their RSS and CPU time from /proc, stop them.
 * @module
 */

/** A server started with `deno run -A`. */
export interface Server {
  /** Display name. */
  name: string;
  /** The spawned process. */
  child: Deno.ChildProcess;
  /** The process actually serving (`deno run` serves in-process; checked by {@link waitReady}). */
  pid: number;
  /** Set once the process has exited. */
  exited: boolean;
  /** The last 8 KB of its stderr. */
  log: () => string;
}

/** A free loopback TCP port (the listener is closed again at once). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Starts `deno run -A script ...args` in `cwd`, registering it in `children`. */
export function spawnServer(
  name: string,
  script: string,
  args: string[],
  cwd: string,
  children: Set<Deno.ChildProcess>,
): Server {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    cwd,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  children.add(child);
  let log = "";
  (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) {
      log = (log + text).slice(-8000);
    }
  })().catch(() => {});
  const server: Server = { name, child, pid: child.pid, exited: false, log: () => log };
  child.status.then(() => (server.exited = true));
  return server;
}

/** Polls `probe` until it returns true (60 s max); fails fast if the server exits. */
export async function waitReady(
  server: Server,
  probe: () => Promise<boolean>,
  script: string,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last: unknown;
  while (Date.now() < deadline) {
    if (server.exited) throw new Error(`${server.name} exited during startup:\n${server.log()}`);
    try {
      if (await probe()) {
        server.pid = serverPid(server.child.pid, script);
        return;
      }
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${server.name} did not answer within 60 s (${last}):\n${server.log()}`);
}

/** The direct children of a process (from /proc). */
export function childPids(pid: number): number[] {
  try {
    const text = Deno.readTextFileSync(`/proc/${pid}/task/${pid}/children`);
    return text.trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** The pid in `root`'s process tree whose command line names `script` (else `root`). */
function serverPid(root: number, script: string): number {
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    try {
      const argv = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
      if (argv.some((arg) => arg.endsWith(script))) return pid;
    } catch { /* gone */ }
    queue.push(...childPids(pid));
  }
  return root;
}

/** VmRSS of a process, MB. */
export function rssMb(pid: number): number {
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`))?.[1];
  return kb ? Number(kb) / 1024 : NaN;
}

/** User + system CPU seconds of a process (all threads), from /proc/<pid>/stat. */
export function cpuSeconds(pid: number, ticksPerSecond: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond; // utime, stime
}

/** USER_HZ, the unit of /proc/<pid>/stat times (almost always 100). */
export async function clockTicks(): Promise<number> {
  const command = new Deno.Command("getconf", { args: ["CLK_TCK"], stdout: "piped" });
  const out = await command.output().catch(() => undefined);
  const hz = Number(new TextDecoder().decode(out?.stdout).trim());
  return hz > 0 ? hz : 100;
}

/** Stops every child: SIGTERM, then SIGKILL after 5 s. */
export async function stopAll(children: Set<Deno.ChildProcess>): Promise<void> {
  await Promise.all([...children].map(async (child) => {
    const kill = (signal: Deno.Signal) => {
      try {
        child.kill(signal);
      } catch { /* already exited */ }
    };
    kill("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => resolve(kill("SIGKILL")), 5000);
    });
    await Promise.race([child.status, late]);
    clearTimeout(timer);
    children.delete(child);
  }));
}

/**
 * Writes a gateway config (`config`, the file's text) to `<dir>/<name>.json`
 * and starts `mod.ts` with it on `port` from `cwd` (not yet ready: see
 * {@link waitReady}).
 */
export async function spawnSluice(
  name: string,
  config: string,
  port: number,
  dirs: { tmp: string; cwd: string },
  children: Set<Deno.ChildProcess>,
): Promise<Server> {
  const path = `${dirs.tmp}/${name}.json`;
  await Deno.writeTextFile(path, config);
  return spawnServer(name, "mod.ts", ["--config", path, "--port", `${port}`], dirs.cwd, children);
}

/** The child processes and temp dir of one bench script, stopped and removed together. */
export class BenchScope {
  /** Every child process started (see {@link spawnServer}). */
  readonly children: Set<Deno.ChildProcess> = new Set();
  #tmp?: string;

  /** The script's temp dir (made on first use). */
  async tmpDir(prefix: string): Promise<string> {
    return this.#tmp ??= await Deno.makeTempDir({ prefix });
  }

  /** Stops every child and removes the temp dir. */
  cleanup = async (): Promise<void> => {
    await stopAll(this.children);
    if (this.#tmp) await Deno.remove(this.#tmp, { recursive: true }).catch(() => {});
    this.#tmp = undefined;
  };
}

/**
 * Runs a bench script's `main` with `cleanup` after it, also on SIGINT /
 * SIGTERM, and exits with its code (1 when it threw).
 */
export async function runMain(
  name: string,
  main: () => Promise<number>,
  cleanup: () => Promise<void>,
): Promise<never> {
  let interrupted = false;
  const interrupt = async () => {
    interrupted = true;
    console.error("\ninterrupted: stopping servers");
    await cleanup();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", interrupt);
  Deno.addSignalListener("SIGTERM", interrupt);
  let code = 1;
  try {
    code = await main();
  } catch (error) {
    if (!interrupted) console.error(`${name}: ${error instanceof Error ? error.message : error}`);
  } finally {
    await cleanup();
  }
  Deno.exit(code);
}
