/**
 * Retry and status semantics towards the upstream: a 2xx whose body is not
 * JSON is a 502 and never retried (the upstream may have billed the call);
 * a 5xx's `Retry-After` is honoured within the retry budget and passed on to
 * the client on the final answer.
 */
import assert from "node:assert/strict";
import { startUpstream } from "./fakes/upstream.ts";
import { startGateway } from "./fakes/gateway.ts";

const completion = (model: unknown) =>
  Response.json({
    id: "chatcmpl-1",
    object: "chat.completion",
    created: 1,
    model,
    choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  });

async function chat(url: string, model: string) {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

Deno.test("a 2xx with a body that is not JSON is a 502 and is not retried", async () => {
  const hits = new Map<string, number>();
  const upstream = startUpstream((req) => {
    const model = String(req.body?.model);
    hits.set(model, (hits.get(model) ?? 0) + 1);
    if (model === "html") {
      return new Response("<html>gateway page</html>", {
        headers: { "content-type": "text/html" },
      });
    }
    return new Response(null, { status: 200 });
  });
  const models = ["html", "empty"].map((name) => ({
    name,
    provider: "openai" as const,
    api_base: upstream.url,
    max_retries: 3,
  }));
  const gw = await startGateway({ models });
  try {
    for (const model of ["html", "empty"]) {
      const r = await chat(gw.url, model);
      assert.equal(r.status, 502, model);
      assert.equal(hits.get(model), 1, `${model}: the upstream is called once, not retried`);
      assert.equal(r.body.error.type, "api_error");
      assert.equal(r.body.error.code, "upstream_invalid_response");
      assert.match(r.body.error.message, /200 with a body that is not JSON/);
    }
  } finally {
    await gw.close();
    await upstream.close();
  }
});

Deno.test("Retry-After on a 503 is waited for before the next attempt", async () => {
  const at: number[] = [];
  const upstream = startUpstream((req) => {
    at.push(performance.now());
    return at.length === 1
      ? Response.json({ error: { message: "busy" } }, {
        status: 503,
        headers: { "retry-after": "1" },
      })
      : completion(req.body?.model);
  });
  const gw = await startGateway({
    models: [{ name: "m", provider: "openai", api_base: upstream.url, max_retries: 2 }],
  });
  try {
    const r = await chat(gw.url, "m");
    assert.equal(r.status, 200);
    assert.equal(at.length, 2);
    assert.ok(at[1] - at[0] >= 950, `waited ${Math.round(at[1] - at[0])} ms, not the 1 s asked`);
  } finally {
    await gw.close();
    await upstream.close();
  }
});

Deno.test("a Retry-After beyond the retry budget stops the retries and reaches the client", async () => {
  let hits = 0;
  const upstream = startUpstream(() => {
    hits++;
    return Response.json({ error: { message: "come back in an hour" } }, {
      status: 503,
      headers: { "retry-after": "3600" },
    });
  });
  const gw = await startGateway({
    models: [{ name: "m", provider: "openai", api_base: upstream.url, max_retries: 3 }],
  });
  try {
    const started = performance.now();
    const r = await chat(gw.url, "m");
    assert.ok(performance.now() - started < 2000, "answered at once, without waiting");
    assert.equal(r.status, 502);
    assert.equal(r.body.error.code, "upstream_error");
    assert.equal(r.headers.get("retry-after"), "3600");
    assert.equal(hits, 1, "no retry that the upstream asked not to get");
  } finally {
    await gw.close();
    await upstream.close();
  }
});

Deno.test("with max_retries exhausted the last 503's Retry-After is passed on", async () => {
  let hits = 0;
  const upstream = startUpstream(() => {
    hits++;
    return Response.json({ error: { message: "busy" } }, {
      status: 503,
      headers: { "retry-after": "0" },
    });
  });
  const gw = await startGateway({
    models: [{ name: "m", provider: "openai", api_base: upstream.url, max_retries: 1 }],
  });
  try {
    const r = await chat(gw.url, "m");
    assert.equal(r.status, 502);
    assert.equal(r.headers.get("retry-after"), "0");
    assert.equal(hits, 2);
  } finally {
    await gw.close();
    await upstream.close();
  }
});
