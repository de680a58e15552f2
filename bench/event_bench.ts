/**
 * `deno bench`: the per-call logging work. On the request thread: picking
 * the hand-off record (`toFinishedCall`) and cloning it as `postMessage`
 * does to reach the log Worker (`bench/handoff.ts` measures the real
 * `postMessage`). On the log side: building the event with `buildLogEvent`
 * (`core/log/build.ts`, which parses the body bytes) and serialising it with
 * `JSON.stringify`, as the JSONL sink does for each line. The record is a realistic non-stream chat call through a virtual key:
 * a system prompt and a short conversation, sampling parameters, request
 * metadata and tags, a W3C trace parent, usage with cached tokens and a cost.
 * @module
 */
import { buildLogEvent } from "../core/log/build.ts";
import { type CallRecord, toFinishedCall } from "../core/server/call_record.ts";
import { hashKey } from "../core/server/auth.ts";
import { traceContextOf } from "../core/server/trace.ts";
import type { Deployment } from "../core/providers/types.ts";

const headers = new Headers({
  "content-type": "application/json",
  "authorization": "Bearer sk-team-a-0123456789abcdef",
  "user-agent": "OpenAI/Python 1.54.3",
  "x-stainless-lang": "python",
  "x-sluice-tags": "checkout, prod",
  "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  "tracestate": "vendor=abc123",
});

const messages = [
  {
    role: "system",
    content: "You are the support assistant of an online bookshop. Answer briefly and " +
      "politely, cite the order number when you refer to an order, and never promise a " +
      "refund: offer to open a ticket instead.",
  },
  { role: "user", content: "Hi, my order 48213 hasn't arrived yet. It was due on Monday." },
  {
    role: "assistant",
    content: "I'm sorry about the delay. Order 48213 left our warehouse on Friday and the " +
      "carrier shows it in transit. Would you like me to open a ticket with the carrier?",
  },
  { role: "user", content: "Yes please, and can you tell me when it will arrive?" },
];

const deployment: Deployment = {
  config: {
    name: "gpt-4o-mini",
    provider: "openai",
    model: "gpt-4o-mini",
    api_base: "https://api.openai.com/v1",
    api_key: "sk-upstream-not-logged",
    timeout_s: 600,
    max_retries: 2,
    forward_metadata: false,
  },
  id: "3f2a9c1e",
  upstreamModel: "gpt-4o-mini",
  apiBase: "https://api.openai.com/v1",
};

const start = Date.now();
const record: CallRecord = {
  requestId: "6d1f9c0e-2b4a-4f7e-9a51-0c3b8e7d2a14",
  callId: "6d1f9c0e-2b4a-4f7e-9a51-0c3b8e7d2a14",
  callType: "chat",
  trace: traceContextOf(headers, undefined),
  startTime: start,
  endTime: start + 812,
  completionStartTime: start + 790,
  headers,
  requesterIp: "10.12.4.37",
  principal: {
    keyHash: hashKey("sk-team-a-0123456789abcdef"),
    key: {
      key: "sk-team-a-0123456789abcdef",
      alias: "checkout-service",
      team: "team-a",
      user: "svc-checkout",
      models: ["gpt-4o-mini"],
      allow_redaction_opt_out: false,
    },
    master: false,
  },
  bodyBytes: new TextEncoder().encode(JSON.stringify({
    model: "gpt-4o-mini",
    messages,
    temperature: 0.3,
    top_p: 0.9,
    max_tokens: 256,
    user: "customer-90210",
    metadata: { tags: ["support"], session_id: "sess-77f1", generation_name: "support-reply" },
  })),
  model: "gpt-4o-mini",
  stream: false,
  deployment,
  responseId: "chatcmpl-AbCdEf0123456789xyzABCDEFGHIJ",
  responseModel: "gpt-4o-mini-2024-07-18",
  usage: {
    prompt_tokens: 142,
    completion_tokens: 61,
    total_tokens: 203,
    prompt_tokens_details: { cached_tokens: 64 },
  },
  response: {
    role: "assistant",
    content: "I've opened ticket T-5521 with the carrier for order 48213. Their latest " +
      "estimate is delivery by Thursday; you'll get an email as soon as they update it. " +
      "Is there anything else I can help with?",
    refusal: null,
  },
  cost: {
    total: 0.0000537,
    breakdown: { input: 0.0000117, output: 0.0000366, cache_read: 0.0000048, cache_creation: 0 },
  },
};

const call = toFinishedCall(record, undefined);
const event = buildLogEvent(call);
const line = JSON.stringify(event);
if (!line.includes('"user_api_key_alias":"checkout-service"') || line.includes("sk-team-a")) {
  throw new Error("unexpected event");
}
const group = `log event of one chat call (${(line.length / 1024).toFixed(1)} KiB as JSON)`;

Deno.bench({
  name: "request thread: toFinishedCall (the hand-off record)",
  group,
  fn: () => {
    toFinishedCall(record, undefined);
  },
});

Deno.bench({
  name: "toFinishedCall + structuredClone (postMessage's copy, both ends)",
  group,
  fn: () => {
    structuredClone(toFinishedCall(record, undefined));
  },
});

Deno.bench({
  name: "buildLogEvent (log side, parses the body bytes)",
  group,
  baseline: true,
  fn: () => {
    buildLogEvent(call);
  },
});

Deno.bench({
  name: "JSON.stringify(event) (one JSONL line)",
  group,
  fn: () => {
    JSON.stringify(event);
  },
});

Deno.bench({
  name: "buildLogEvent + JSON.stringify",
  group,
  fn: () => {
    JSON.stringify(buildLogEvent(call));
  },
});
