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
  },
}).values;
const CALLS = Number(args.calls);
const BATCH = Number(args.batch);
const ROUNDS = Number(args.rounds);

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
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0
    ? ["worker", "in-thread"] as const
    : ["in-thread", "worker"] as const;
  for (const kind of order) {
    const dir = await Deno.makeTempDir({ prefix: "sluice-handoff-" });
    const host = await startHost(kind, dir);
    handOff(host); // warm-up
    results[kind].push(handOff(host));
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
