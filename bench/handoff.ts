/**
 * What the log path costs the request thread per call: `toFinishedCall`
 * (the hand-off record) plus `LogHost.submit`, in batches as the gateway
 * sends them (one batch per 5 ms). With the Worker host, `submit` is one
 * `postMessage` per batch (records cloned, body bytes transferred): that is
 * all the request thread pays. With the in-thread host, `submit` builds,
 * redacts and queues each event on the spot (default redaction, the jsonl
 * sink), and the sink's and write-ahead log's writes come on top, later:
 * its figure is a lower bound.
 *
 * Then the same for one call carrying an 11 MB base64 image (the issue's
 * "request thread blocked while an 11 MB event is logged"): how long one
 * `submit` of it holds the request thread, median of `--big` calls.
 *
 * Usage: `deno run -A bench/handoff.ts [--calls 20000] [--batch 50] [--rounds 5]`
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { parseConfig } from "../core/config/load.ts";
import { InThreadLogHost, type LogHost, WorkerLogHost } from "../core/log/host.ts";
import { type CallRecord, toFinishedCall } from "../core/server/call_record.ts";
import { fmt, machine, median } from "./common.ts";

const args = parseArgs({
  options: {
    calls: { type: "string", default: "20000" },
    batch: { type: "string", default: "50" },
    rounds: { type: "string", default: "5" },
    big: { type: "string", default: "7" },
  },
}).values;
const CALLS = Number(args.calls);
const BATCH = Number(args.batch);
const ROUNDS = Number(args.rounds);
const BIG = Number(args.big);

const image = new Uint8Array(8_650_752);
for (let i = 0; i < image.length; i += 65536) crypto.getRandomValues(image.subarray(i, i + 65536));
const bigBody = new TextEncoder().encode(JSON.stringify({
  model: "gpt-4o-mini",
  messages: [{
    role: "user",
    content: [
      { type: "text", text: "What is in this picture?" },
      { type: "image_url", image_url: { url: `data:image/png;base64,${base64(image)}` } },
    ],
  }],
}));

function base64(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 0x6000) {
    out += btoa(String.fromCharCode(...bytes.subarray(i, i + 0x6000)));
  }
  return out;
}

const body = new TextEncoder().encode(JSON.stringify({
  model: "gpt-4o-mini",
  messages: [
    { role: "system", content: "You are the support assistant of an online bookshop." },
    { role: "user", content: "Hi, my order 48213 hasn't arrived yet. Mail me at ann@example.com" },
  ],
  temperature: 0.3,
  metadata: { tags: ["support"], session_id: "sess-77f1" },
}));
const headers = new Headers({ "user-agent": "OpenAI/Python 1.54.3", "x-sluice-tags": "prod" });
const answer = JSON.stringify({
  id: "chatcmpl-1",
  model: "gpt-4o-mini-2024-07-18",
  choices: [{
    index: 0,
    message: { role: "assistant", content: "I've opened ticket T-5521 for order 48213." },
    finish_reason: "stop",
  }],
  usage: { prompt_tokens: 42, completion_tokens: 12, total_tokens: 54 },
});

function record(n: number): CallRecord {
  const now = Date.now();
  return {
    requestId: crypto.randomUUID(),
    callId: `call-${n}`,
    callType: "chat",
    trace: { traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: "00f067aa0ba902b7", flags: "01" },
    startTime: now - 5,
    endTime: now,
    headers,
    requesterIp: "127.0.0.1",
    bodyBytes: body.slice(), // each call has its own bytes, as a request body does
    model: "gpt-4o-mini",
    stream: false,
    usage: { prompt_tokens: 42, completion_tokens: 12, total_tokens: 54 },
    resultText: answer,
  };
}

/** µs of request-thread time per call to hand `CALLS` calls to `host`. */
function handOff(host: LogHost): number {
  let spent = 0;
  for (let i = 0; i < CALLS; i += BATCH) {
    const records = Array.from({ length: BATCH }, (_, j) => record(i + j));
    const t0 = performance.now();
    host.submit(records.map((r) => toFinishedCall(r, undefined)));
    spent += performance.now() - t0;
  }
  return (spent * 1000) / CALLS;
}

/**
 * How long the 11 MB call holds the request thread (median of BIG): the
 * `submit` itself, and the longest stall of a 1 ms timer on this thread
 * until the log side is done with it (the in-thread host does its work
 * later, on this same thread).
 */
async function bigHandOff(host: LogHost): Promise<{ submit: number; stall: number }> {
  const submits: number[] = [];
  const stalls: number[] = [];
  for (let i = 0; i < BIG; i++) {
    const r = record(i);
    r.bodyBytes = bigBody.slice(); // its own buffer, as a request body has
    let last = performance.now();
    let stall = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      stall = Math.max(stall, now - last - 1);
      last = now;
    }, 1);
    const t0 = performance.now();
    host.submit([toFinishedCall(r, undefined)]);
    submits.push(performance.now() - t0);
    last = performance.now();
    await new Promise((resolve) => setTimeout(resolve, 500)); // the log side finishes it
    clearInterval(timer);
    stalls.push(stall);
  }
  return { submit: median(submits), stall: median(stalls) };
}

async function startHost(kind: "worker" | "in-thread", dir: string): Promise<LogHost> {
  const config = parseConfig({
    server: { data_dir: join(dir, "data") },
    models: [{ name: "gpt-4o-mini", provider: "mock" }],
    sinks: [{ use: "jsonl", config: { dir: join(dir, "out") } }],
  });
  const init = { config, baseDir: Deno.cwd(), secrets: [] };
  return kind === "worker" ? await WorkerLogHost.start(init) : await InThreadLogHost.start(init);
}

const results: Record<string, number[]> = { worker: [], "in-thread": [] };
const big: Record<string, { submit: number; stall: number }> = {};
// The control: the same calls handed to nothing, for the stalls this script causes itself.
big.control = await bigHandOff({
  sinkNames: [],
  submit() {},
  metrics: () => Promise.resolve(""),
  sinks: () => Promise.resolve([]),
  delivery: () => Promise.resolve([]),
  ingest: () => Promise.resolve("unavailable" as const),
  ingestRefused() {},
  close: () => Promise.resolve(),
});
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0
    ? ["worker", "in-thread"] as const
    : ["in-thread", "worker"] as const;
  for (const kind of order) {
    const dir = await Deno.makeTempDir({ prefix: "sluice-handoff-" });
    const host = await startHost(kind, dir);
    handOff(host); // warm-up
    results[kind].push(handOff(host));
    if (round === 0) big[kind] = await bigHandOff(host);
    await host.close(30_000);
    await Deno.remove(dir, { recursive: true });
  }
}

console.log(
  `${await machine()}; ${CALLS} calls per round in batches of ${BATCH}, ${ROUNDS} rounds`,
);
console.log("| host | request-thread µs per call (median) | rounds |");
console.log("| ---- | ---: | --- |");
for (const [kind, values] of Object.entries(results)) {
  console.log(
    `| ${kind} | ${fmt(median(values), 2)} | ${values.map((v) => fmt(v, 2)).join(", ")} |`,
  );
}
console.log(
  `\none call with an 11 MB image (${(bigBody.byteLength / 1e6).toFixed(1)} MB body), ` +
    `median of ${BIG}: ` +
    Object.entries(big).map(([kind, b]) =>
      `${kind}: submit ${fmt(b.submit, 3)} ms, longest request-thread stall ${fmt(b.stall, 1)} ms`
    ).join("; "),
);
