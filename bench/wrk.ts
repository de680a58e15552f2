/**
 * Runs `wrk` for a JSON POST and parses its `--latency` report: requests/sec,
 * p50/p99 (in ms), and the error counts that make a run worthless.
 * @module
 */

/** What one wrk run measured. */
export interface WrkResult {
  /** Completed requests. */
  requests: number;
  /** Requests per second. */
  rps: number;
  /** Median latency, ms. */
  p50Ms: number;
  /** 99th percentile latency, ms. */
  p99Ms: number;
  /** "Non-2xx or 3xx responses" (0 when wrk prints no such line). */
  non2xx: number;
  /** Socket errors: connect + read + write + timeout. */
  socketErrors: number;
}

/** One wrk invocation. */
export interface WrkRun {
  /** Target URL. */
  url: string;
  /** Path of the Lua script (see {@link wrkScript}). */
  script: string;
  /** Open connections. */
  connections: number;
  /** wrk threads. */
  threads: number;
  /** Seconds. */
  duration: number;
}

/** A wrk Lua script that POSTs `body` as JSON. */
export function wrkScript(body: string): string {
  return [
    `wrk.method = "POST"`,
    `wrk.headers["Content-Type"] = "application/json"`,
    `wrk.body = [==[${body}]==]`,
    "",
  ].join("\n");
}

/** What the count script prints when one wrk thread has made its share of requests. */
const THREAD_DONE = "wrk-thread-done";

/**
 * Like {@link wrkScript}, but each of the `threads` wrk threads stops after
 * its share of `total` responses and says so on stdout; see {@link runWrkCount}.
 */
export function wrkCountScript(body: string, total: number, threads: number): string {
  return [
    wrkScript(body).trimEnd(),
    "local created = 0",
    "function setup(thread)", // runs in the main Lua state, once per thread
    `  local share = math.floor(${total} / ${threads})`,
    `  if created < ${total} % ${threads} then share = share + 1 end`,
    "  created = created + 1",
    '  thread:set("limit", share)',
    "end",
    "local count = 0",
    "function response(status, headers, body)", // runs in each thread's own Lua state
    "  count = count + 1",
    "  if count == limit then",
    `    io.write("${THREAD_DONE}\\n")`,
    "    io.flush()",
    "    wrk.thread:stop()",
    "  end",
    "end",
    "",
  ].join("\n");
}

/** The wrk argument list for a run. */
export function wrkArgs(run: WrkRun): string[] {
  return [
    `-t${run.threads}`,
    `-c${run.connections}`,
    `-d${run.duration}s`,
    "--latency",
    "-s",
    run.script,
    run.url,
  ];
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Converts a wrk time (`812.00us`, `1.20ms`, `2.01s`, `1.5m`) to ms. */
export function toMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim());
  if (!m) throw new Error(`unrecognised wrk time "${text}"`);
  return Number(m[1]) * UNIT_MS[m[2]];
}

/** Parses wrk's `--latency` output; throws if a required line is missing. */
export function parseWrk(output: string): WrkResult {
  const need = (re: RegExp, what: string): RegExpExecArray => {
    const m = re.exec(output);
    if (!m) throw new Error(`wrk output has no ${what}:\n${output}`);
    return m;
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(
    output,
  );
  return {
    requests: Number(need(/(\d+) requests in /, "request count")[1]),
    rps: Number(need(/Requests\/sec:\s+([\d.]+)/, "Requests/sec")[1]),
    p50Ms: toMs(need(/^\s*50%\s+(\S+)\s*$/m, "50% latency")[1]),
    p99Ms: toMs(need(/^\s*99%\s+(\S+)\s*$/m, "99% latency")[1]),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0),
    socketErrors: socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  };
}

/** Whether `wrk` is on PATH. */
export async function hasWrk(): Promise<boolean> {
  try {
    await new Deno.Command("wrk", { args: ["--version"], stdout: "null", stderr: "null" }).output();
    return true;
  } catch {
    return false;
  }
}

/** Runs wrk (registering the child in `children` while it runs) and parses its report. */
export async function runWrk(run: WrkRun, children: Set<Deno.ChildProcess>): Promise<WrkResult> {
  const child = new Deno.Command("wrk", { args: wrkArgs(run), stdout: "piped", stderr: "piped" })
    .spawn();
  children.add(child);
  try {
    const { code, stdout, stderr } = await child.output();
    const text = new TextDecoder().decode(stdout);
    if (code !== 0) {
      throw new Error(`wrk exited ${code}: ${new TextDecoder().decode(stderr)}${text}`);
    }
    return parseWrk(text);
  } finally {
    children.delete(child);
  }
}

/**
 * Runs wrk with a {@link wrkCountScript} until every thread has made its
 * share of the requests, then interrupts it (SIGINT: wrk stops sleeping out
 * `run.duration` and reports over the time it actually ran). `run.duration`
 * is only the upper bound. wrk's request count may exceed the target by the
 * few responses that complete in a thread's last event-loop turn.
 */
export async function runWrkCount(
  run: WrkRun,
  children: Set<Deno.ChildProcess>,
): Promise<WrkResult> {
  const child = new Deno.Command("wrk", { args: wrkArgs(run), stdout: "piped", stderr: "piped" })
    .spawn();
  children.add(child);
  try {
    const stderr = new Response(child.stderr).text();
    let text = "";
    let interrupted = false;
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      if (!interrupted && text.split(THREAD_DONE).length - 1 >= run.threads) {
        interrupted = true;
        child.kill("SIGINT");
      }
    }
    const { code } = await child.status;
    if (code !== 0) throw new Error(`wrk exited ${code}: ${await stderr}${text}`);
    return parseWrk(text);
  } finally {
    children.delete(child);
  }
}
