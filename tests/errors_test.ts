/**
 * Every documented failure gives the documented status and OpenAI's error
 * shape: malformed JSON, missing fields, oversized body, unknown model, bad
 * key, upstream down, upstream timeout, upstream 4xx/429/5xx.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { startUpstream } from "./fakes/upstream.ts";
import { startGateway } from "./fakes/gateway.ts";

type ErrorBody = { error: { message: string; type: string; code: string; param: string | null } };

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as ErrorBody };
}

function assertErrorShape(body: ErrorBody, type: string, code?: string) {
  assert.equal(typeof body.error.message, "string");
  assert.ok(body.error.message.length > 0);
  assert.equal(body.error.type, type);
  if (code) assert.equal(body.error.code, code);
}

Deno.test("malformed requests: 400, 413, 404, 405 with OpenAI's shape", async () => {
  const gw = await startGateway({
    server: { max_body_bytes: 1024 },
    models: [{ name: "mock-gpt", provider: "mock" }, { name: "other", provider: "mock" }],
  });
  const chat = `${gw.url}/v1/chat/completions`;
  try {
    let r = await post(chat, "{not json");
    assert.equal(r.status, 400);
    assertErrorShape(r.body, "invalid_request_error", "invalid_json");

    r = await post(chat, JSON.stringify({ model: "mock-gpt" }));
    assert.equal(r.status, 400);
    assertErrorShape(r.body, "invalid_request_error", "missing_required_parameter");
    assert.equal(r.body.error.param, "messages");

    r = await post(chat, JSON.stringify({ messages: [{ role: "user", content: "x" }] }));
    assert.equal(r.status, 400);
    assert.equal(r.body.error.param, "model");

    r = await post(chat, JSON.stringify([1, 2]));
    assert.equal(r.status, 400);

    r = await post(`${gw.url}/v1/embeddings`, JSON.stringify({ model: "mock-gpt" }));
    assert.equal(r.status, 400);
    assert.equal(r.body.error.param, "input");

    r = await post(
      chat,
      JSON.stringify({ model: "x", messages: [{ role: "user", content: "a".repeat(2000) }] }),
    );
    assert.equal(r.status, 413);
    assertErrorShape(r.body, "invalid_request_error", "request_too_large");

    // Chunked body (no content-length) over the limit.
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('{"model":"x","messages":"' + "b".repeat(3000) + '"}'));
        c.close();
      },
    });
    const res = await fetch(chat, {
      method: "POST",
      body: chunked,
      headers: { "content-type": "application/json" },
    });
    assert.equal(res.status, 413);
    assertErrorShape(await res.json(), "invalid_request_error", "request_too_large");

    r = await post(
      chat,
      JSON.stringify({ model: "gpt-nope", messages: [{ role: "user", content: "x" }] }),
    );
    assert.equal(r.status, 404);
    assertErrorShape(r.body, "invalid_request_error", "model_not_found");
    assert.match(r.body.error.message, /mock-gpt, other/);

    const get = await fetch(chat);
    assert.equal(get.status, 405);
    assertErrorShape(await get.json(), "invalid_request_error", "method_not_allowed");

    const unknown = await fetch(`${gw.url}/v1/nope`);
    assert.equal(unknown.status, 404);
    assertErrorShape(await unknown.json(), "invalid_request_error", "unknown_route");
  } finally {
    await gw.close();
  }
});

Deno.test("authentication: missing and bad keys get 401; the master and virtual keys work", async () => {
  const gw = await startGateway({
    server: { master_key: "sk-master-abcdef" },
    models: [{ name: "mock-gpt", provider: "mock" }],
    keys: [{ key: "sk-virtual-123456", alias: "app" }],
  });
  try {
    const bad = new OpenAI({ apiKey: "sk-wrong", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    await assert.rejects(
      bad.chat.completions.create({
        model: "mock-gpt",
        messages: [{ role: "user", content: "x" }],
      }),
      (e: InstanceType<typeof OpenAI.APIError>) =>
        e.status === 401 && e.type === "authentication_error" && e.code === "invalid_api_key",
    );
    const r = await post(
      `${gw.url}/v1/chat/completions`,
      JSON.stringify({ model: "mock-gpt", messages: [] }),
    );
    assert.equal(r.status, 401);
    assertErrorShape(r.body, "authentication_error", "missing_api_key");
    for (const key of ["sk-master-abcdef", "sk-virtual-123456"]) {
      const ok = new OpenAI({ apiKey: key, baseURL: `${gw.url}/v1`, maxRetries: 0 });
      const c = await ok.chat.completions.create({
        model: "mock-gpt",
        messages: [{ role: "user", content: "x" }],
      });
      assert.ok(c.choices[0].message.content);
    }
    // Azure- and Anthropic-style key headers are accepted too.
    const viaApiKey = await fetch(`${gw.url}/v1/models`, {
      headers: { "api-key": "sk-virtual-123456" },
    });
    assert.equal(viaApiKey.status, 200);
    await viaApiKey.body?.cancel();
  } finally {
    await gw.close();
  }
});

Deno.test("upstream down gives 502 after retries; upstream timeout gives 504", async () => {
  // A port with nothing listening.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = listener.addr.port;
  listener.close();
  let hits = 0;
  const slow = startUpstream(async (_req, signal) => {
    hits++;
    await new Promise((resolve) => {
      const t = setTimeout(resolve, 5000);
      signal.addEventListener("abort", () => (clearTimeout(t), resolve(null)));
    });
    return Response.json({});
  });
  const gw = await startGateway({
    models: [
      {
        name: "down",
        provider: "openai",
        api_base: `http://127.0.0.1:${deadPort}/v1`,
        max_retries: 2,
      },
      { name: "slow", provider: "openai", api_base: slow.url, timeout_s: 0.2, max_retries: 2 },
    ],
  });
  try {
    const client = new OpenAI({ apiKey: "k", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    await assert.rejects(
      client.chat.completions.create({ model: "down", messages: [{ role: "user", content: "x" }] }),
      (e: InstanceType<typeof OpenAI.APIError>) =>
        e.status === 502 && e.type === "api_error" && e.code === "upstream_unreachable",
    );
    const started = performance.now();
    await assert.rejects(
      client.chat.completions.create({ model: "slow", messages: [{ role: "user", content: "x" }] }),
      (e: InstanceType<typeof OpenAI.APIError>) =>
        e.status === 504 && e.type === "timeout_error" && e.code === "upstream_timeout",
    );
    assert.ok(performance.now() - started < 4000, "the deadline cut the call short");
    assert.equal(hits, 1, "timeouts are not retried");
  } finally {
    await gw.close();
    await slow.close();
  }
});

Deno.test("upstream 5xx is retried then becomes 502; 4xx and 429 pass through", async () => {
  let calls = 0;
  const upstream = startUpstream((req) => {
    calls++;
    const model = req.body?.model;
    if (model === "flaky") {
      return calls < 3
        ? Response.json({ error: { message: "overloaded" } }, { status: 503 })
        : Response.json({
          id: "ok",
          object: "chat.completion",
          created: 1,
          model,
          choices: [{
            index: 0,
            message: { role: "assistant", content: "recovered" },
            finish_reason: "stop",
          }],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        });
    }
    if (model === "broken") return new Response("internal", { status: 500 });
    if (model === "limited") {
      return Response.json(
        {
          error: {
            message: "Rate limit reached",
            type: "requests",
            code: "rate_limit_exceeded",
            param: null,
          },
        },
        { status: 429, headers: { "retry-after": "7" } },
      );
    }
    return Response.json(
      {
        error: {
          message: "Invalid 'temperature'",
          type: "invalid_request_error",
          param: "temperature",
          code: "invalid_value",
        },
      },
      { status: 400 },
    );
  });
  const models = ["flaky", "broken", "limited", "bad"].map((name) => ({
    name,
    provider: "openai" as const,
    api_base: upstream.url,
    max_retries: 2,
  }));
  const gw = await startGateway({ models });
  const body = (model: string) =>
    JSON.stringify({ model, messages: [{ role: "user", content: "x" }] });
  try {
    const client = new OpenAI({ apiKey: "k", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const ok = await client.chat.completions.create({
      model: "flaky",
      messages: [{ role: "user", content: "x" }],
    });
    assert.equal(ok.choices[0].message.content, "recovered");
    assert.equal(calls, 3, "two 503s retried, third attempt succeeded");

    calls = 0;
    let r = await post(`${gw.url}/v1/chat/completions`, body("broken"));
    assert.equal(r.status, 502);
    assertErrorShape(r.body, "api_error", "upstream_error");
    assert.equal(calls, 3, "1 attempt + 2 retries");

    calls = 0;
    r = await post(`${gw.url}/v1/chat/completions`, body("limited"));
    assert.equal(r.status, 429);
    assert.equal(r.headers.get("retry-after"), "7");
    assert.equal(r.body.error.code, "rate_limit_exceeded");
    assert.equal(calls, 1, "4xx are not retried");

    r = await post(`${gw.url}/v1/chat/completions`, body("bad"));
    assert.equal(r.status, 400);
    assert.deepEqual(r.body.error, {
      message: "Invalid 'temperature'",
      type: "invalid_request_error",
      param: "temperature",
      code: "invalid_value",
    });
  } finally {
    await gw.close();
    await upstream.close();
  }
});
