/**
 * Shared pieces of the load benchmark modes: the request body, the gateway
 * configs, readiness probes, `/metrics` scraping and number formatting.
 * @module
 */
import { fileURLToPath } from "node:url";

/** The repository root (servers are started from here). */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** The non-stream chat completion every wrk run POSTs. */
export const CHAT_BODY: string = JSON.stringify({
  model: "bench-model",
  messages: [
    { role: "system", content: "You are a concise assistant. Answer in plain English." },
    { role: "user", content: "Summarise the plot of Hamlet in two sentences." },
  ],
  temperature: 0.7,
  max_tokens: 128,
  user: "bench-user-42",
});

/** Sinks a benchmark Sluice can run with. */
export type SinkKind = "none" | "jsonl" | "slow";
/** The values `--sink` accepts. */
export const SINK_KINDS: readonly SinkKind[] = ["jsonl", "none", "slow"];

/** One `sinks:` entry in the config's native shape. */
export type SinkEntry = Record<string, unknown>;

/** The sink entries of a {@link SinkKind}. */
export function sinkEntries(kind: SinkKind): SinkEntry[] {
  switch (kind) {
    case "none":
      return [];
    case "jsonl":
      return [{ use: "jsonl" }];
    case "slow": // an absolute path: the config file lives in a temp dir
      return [{ use: fileURLToPath(new URL("./slow_sink.ts", import.meta.url)) }];
  }
}

/**
 * A webhook sink whose URL points at `deadPort` on loopback, where nothing
 * listens: every delivery fails with "connection refused".
 */
export function deadWebhookEntry(deadPort: number, queue: Record<string, number>): SinkEntry {
  return { use: "webhook", config: { url: `http://127.0.0.1:${deadPort}/events` }, queue };
}

/**
 * The gateway config (YAML; written as JSON, which YAML reads): one model,
 * `bench-model`, served by the mock upstream on `upstreamPort`, and `sinks`.
 */
export function gatewayConfig(
  upstreamPort: number,
  dataDir: string,
  sinks: SinkEntry[],
  workers = 1,
): string {
  const config = {
    // A short drain: a slow or dead sink would otherwise hold shutdown past stopAll's SIGKILL.
    server: { host: "127.0.0.1", data_dir: dataDir, shutdown_timeout_ms: 3000, workers },
    models: [{
      name: "bench-model",
      provider: "openai",
      model: "bench-model",
      api_base: `http://127.0.0.1:${upstreamPort}/v1`,
      api_key: "bench",
    }],
    sinks,
  };
  return JSON.stringify(config, null, 2) + "\n";
}

/** A probe that POSTs the bench body and wants a 200 chat.completion back (throws otherwise). */
export function chatProbe(url: string): () => Promise<boolean> {
  return async () => {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: CHAT_BODY,
    });
    const text = await res.text();
    if (res.status !== 200 || !text.includes('"choices"')) {
      throw new Error(`POST ${url}: ${res.status} ${text}`);
    }
    return true;
  };
}

/** A probe of Sluice's `/health/readiness` on `port`. */
export function readinessProbe(port: number): () => Promise<boolean> {
  return async () => {
    const res = await fetch(`http://127.0.0.1:${port}/health/readiness`);
    await res.body?.cancel();
    return res.ok;
  };
}

/** The sample lines (no `# HELP`/`# TYPE`) of Sluice's `GET /metrics` that start with `prefix`. */
export async function metricLines(port: number, prefix: string): Promise<string[]> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await res.text();
  if (!res.ok) throw new Error(`GET /metrics on port ${port}: ${res.status} ${text}`);
  return text.split("\n").filter((line) => line.startsWith(prefix));
}

/** The median (NaN for no values). */
export function median(values: number[]): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** `n` with `digits` decimals, or "n/a". */
export function fmt(n: number, digits: number): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "n/a";
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One line about the machine: cores, Deno version, CPU model. */
export async function machine(): Promise<string> {
  const run = async (cmd: string, args: string[]) => {
    const { stdout } = await new Deno.Command(cmd, { args, stdout: "piped" }).output();
    return new TextDecoder().decode(stdout);
  };
  const cpus = (await run("nproc", [])).trim();
  const deno = (await run(Deno.execPath(), ["--version"])).split("\n")[0];
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1];
  return `nproc ${cpus}; ${deno}${model ? `; ${model}` : ""}`;
}
