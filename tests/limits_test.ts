/**
 * Limits on what one request may cost the gateway: JSON depth, body read
 * time, `/metrics` label cardinality, the mock's inputs, and the body's
 * encoding and media type. Each test sends the crafted request a real client
 * (or a raw TCP client) would and checks the OpenAI-shaped refusal.
 */
import assert from "node:assert/strict";
import { readJsonlEvents, startGateway } from "./fakes/gateway.ts";
import { until } from "./fakes/outage.ts";
import { startCliGateway } from "./fakes/cli_gateway.ts";
import { readJsonBody } from "../core/server/body.ts";

type ErrorBody = { error: { message: string; type: string; code: string; param: string | null } };

const encoder = new TextEncoder();

function chat(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: "mock-gpt", messages: [{ role: "user", content: "hi" }], ...extra };
}

async function post(
  url: string,
  body: BodyInit,
  headers: Record<string, string> = { "content-type": "application/json" },
): Promise<{ status: number; body: ErrorBody }> {
  const res = await fetch(url, { method: "POST", headers, body });
  return { status: res.status, body: await res.json() };
}

function nested(depth: number): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

function assertError(body: ErrorBody, type: string, code: string) {
  assert.equal(body.error.type, type, JSON.stringify(body));
  assert.equal(body.error.code, code, JSON.stringify(body));
  assert.ok(body.error.message.length > 0);
}

Deno.test("a 100k-deep JSON value anywhere in the body is a 400 before proxying; later calls are logged", async () => {
  const dir = await Deno.makeTempDir();
  const gw = await startGateway({
    server: { data_dir: dir },
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{ use: "jsonl", required: true, queue: { flush_interval_ms: 10 } }],
  });
  const url = `${gw.url}/v1/chat/completions`;
  try {
    // An ignored field, ahead of the fields the gateway reads.
    const poison = `{"ignored":${
      nested(100_000)
    },"model":"mock-gpt","messages":[{"role":"user","content":"x"}]}`;
    const r = await post(url, poison);
    assert.equal(r.status, 400);
    assertError(r.body, "invalid_request_error", "json_too_deep");
    assert.match(r.body.error.message, /64/);

    const ok = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "x-sluice-call-id": "after-poison" },
      body: JSON.stringify(chat()),
    });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const logs = `${dir}/logs`;
    await until(
      async () => (await readJsonlEvents(logs).catch(() => [])).length >= 2,
      10_000,
      "two events in the JSONL sink",
    );
    const events = await readJsonlEvents(logs);
    assert.ok(events.some((e) => e.call_id === "after-poison" && e.status === "success"));
    const refused = events.find((e) => e.call_id !== "after-poison")!;
    assert.equal((refused.error as { code: string }).code, "json_too_deep");
  } finally {
    await gw.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("JSON depth: 64 levels pass by default, 65 do not; brackets inside strings do not count; server.max_json_depth", async () => {
  const gw = await startGateway({ models: [{ name: "mock-gpt", provider: "mock" }] });
  const small = await startGateway({
    server: { max_json_depth: 4 },
    models: [{ name: "mock-gpt", provider: "mock" }],
  });
  try {
    const url = `${gw.url}/v1/chat/completions`;
    // The body object is level 1, so `x` may hold 63 more levels.
    const ok = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(chat()).replace(/}$/, `,"x":${nested(63)}}`),
    });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
    const deep = await post(url, JSON.stringify(chat()).replace(/}$/, `,"x":${nested(64)}}`));
    assert.equal(deep.status, 400);
    assertError(deep.body, "invalid_request_error", "json_too_deep");

    const brackets = `[{"\\"[": "${"[{".repeat(5000)}\\\\"}]`;
    const inString = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(chat({ messages: [{ role: "user", content: brackets }] })),
    });
    assert.equal(inString.status, 200);
    await inString.body?.cancel();

    // {body: {messages: [ {role, content} ]}} is 3 levels; a 5th is refused.
    const smallUrl = `${small.url}/v1/chat/completions`;
    const three = await fetch(smallUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(chat({ x: [[1]] })),
    });
    assert.equal(three.status, 200);
    await three.body?.cancel();
    const five = await post(smallUrl, JSON.stringify(chat({ x: [[[[1]]]] })));
    assert.equal(five.status, 400);
    assert.match(five.body.error.message, /server\.max_json_depth/);
  } finally {
    await gw.close();
    await small.close();
  }
});

Deno.test("3,000 random model names keep /metrics small: unknown models share one label", async () => {
  const gw = await startGateway({ models: [{ name: "mock-gpt", provider: "mock" }] });
  try {
    const url = `${gw.url}/v1/chat/completions`;
    const ok = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(chat()),
    });
    await ok.body?.cancel();
    await until(async () => (await metricsText(gw.url)).includes("mock-gpt"), 5_000, "a metric");
    const baseline = (await metricsText(gw.url)).length;
    const names = Array.from({ length: 3000 }, () => `m-${crypto.randomUUID()}`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(
        names.slice(i, i + 50).map(async (model) => {
          const res = await fetch(url, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(chat({ model })),
          });
          await res.body?.cancel();
        }),
      );
    }
    await until(
      async () => /model="__unknown__",status="404"\} 3000$/m.test(await metricsText(gw.url)),
      10_000,
      "3,000 unknown-model calls counted",
    );
    const text = await metricsText(gw.url);
    assert.ok(!text.includes(names[0]), "a random name became a label");
    assert.match(
      text,
      /^sluice_requests_total\{route="\/v1\/chat\/completions",model="mock-gpt",status="200"\} 1$/m,
    );
    // One more label set (the unknown model's requests and duration histogram) at most.
    assert.ok(
      text.length < baseline + 4_000,
      `metrics grew from ${baseline} to ${text.length} bytes`,
    );
  } finally {
    await gw.close();
  }
});

async function metricsText(url: string): Promise<string> {
  return await (await fetch(`${url}/metrics`)).text();
}

Deno.test("mock inputs are bounded: huge dimensions, n or input count are a fast 400", async () => {
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }, { name: "mock-embed", provider: "mock" }],
  });
  const embed = `${gw.url}/v1/embeddings`;
  const chatUrl = `${gw.url}/v1/chat/completions`;
  try {
    const t0 = performance.now();
    let r = await post(embed, JSON.stringify({ model: "mock-embed", input: "x", dimensions: 1e8 }));
    assert.ok(performance.now() - t0 < 2_000, "the refusal is immediate");
    assert.equal(r.status, 400);
    assertError(r.body, "invalid_request_error", "invalid_value");
    assert.equal(r.body.error.param, "dimensions");

    for (const dimensions of [0, 1.5, 4097, "64"]) {
      r = await post(embed, JSON.stringify({ model: "mock-embed", input: "x", dimensions }));
      assert.equal(r.status, 400, `dimensions ${dimensions}`);
      assert.equal(r.body.error.param, "dimensions");
    }
    const max = await fetch(embed, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "mock-embed", input: "x", dimensions: 4096 }),
    });
    assert.equal(max.status, 200);
    assert.equal((await max.json()).data[0].embedding.length, 4096);

    r = await post(embed, JSON.stringify({ model: "mock-embed", input: Array(2049).fill("x") }));
    assert.equal(r.status, 400);
    assert.equal(r.body.error.param, "input");
    r = await post(
      embed,
      JSON.stringify({ model: "mock-embed", input: Array(2048).fill("x"), dimensions: 4096 }),
    );
    assert.equal(r.status, 400, "inputs × dimensions is bounded too");
    assert.equal(r.body.error.param, "input");

    for (const [param, value] of [["n", 1e9], ["n", 0], ["max_tokens", -1], ["max_tokens", 1e12]]) {
      r = await post(chatUrl, JSON.stringify(chat({ [param]: value })));
      assert.equal(r.status, 400, `${param} ${value}`);
      assertError(r.body, "invalid_request_error", "invalid_value");
      assert.equal(r.body.error.param, param);
    }
    const fine = await fetch(chatUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(chat({ n: 1, max_tokens: 256 })),
    });
    assert.equal(fine.status, 200);
    await fine.body?.cancel();
  } finally {
    await gw.close();
  }
});

Deno.test("invalid UTF-8 is a 400, not silently replaced", async () => {
  const gw = await startGateway({ models: [{ name: "mock-gpt", provider: "mock" }] });
  try {
    const json = encoder.encode(JSON.stringify(chat({ user: "AB" })));
    const at = new TextDecoder().decode(json).indexOf("AB");
    json[at] = 0xff; // a byte that never occurs in UTF-8
    const r = await post(`${gw.url}/v1/chat/completions`, json);
    assert.equal(r.status, 400);
    assertError(r.body, "invalid_request_error", "invalid_encoding");
    // Also through the chunked path (no content-length).
    const chunked = await post(
      `${gw.url}/v1/chat/completions`,
      new Blob([json]).stream(),
      { "content-type": "application/json" },
    );
    assert.equal(chunked.status, 400);
    assertError(chunked.body, "invalid_request_error", "invalid_encoding");
  } finally {
    await gw.close();
  }
});

Deno.test("content type: JSON types and a missing type are read; text/plain and forms are a 415", async () => {
  const gw = await startGateway({ models: [{ name: "mock-gpt", provider: "mock" }] });
  const url = `${gw.url}/v1/chat/completions`;
  const body = JSON.stringify(chat());
  try {
    for (
      const type of [
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
      ]
    ) {
      const r = await post(url, body, { "content-type": type });
      assert.equal(r.status, 415, type);
      assertError(r.body, "invalid_request_error", "unsupported_media_type");
      assert.match(r.body.error.message, /application\/json/);
    }
    for (
      const type of [
        "application/json",
        "Application/JSON; charset=utf-8",
        "application/vnd.api+json",
      ]
    ) {
      const res = await fetch(url, { method: "POST", headers: { "content-type": type }, body });
      assert.equal(res.status, 200, type);
      await res.body?.cancel();
    }
    // A byte body carries no content type at all: read as JSON.
    const bare = await fetch(url, { method: "POST", body: encoder.encode(body) });
    assert.equal(bare.headers.get("content-type"), "application/json");
    assert.equal(bare.status, 200);
    await bare.body?.cancel();
  } finally {
    await gw.close();
  }
});

/** A raw HTTP/1.1 client: writes `head`, reads the answer in the background; `write` sends more. */
async function rawRequest(port: number, head: string) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(encoder.encode(head));
  let answer = "";
  const reading = (async () => {
    const buf = new Uint8Array(16_384);
    const decoder = new TextDecoder();
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      answer += decoder.decode(buf.subarray(0, n), { stream: true });
    }
  })();
  return {
    answer: () => answer,
    write: (text: string) => conn.write(encoder.encode(text)).catch(() => 0),
    async close() {
      try {
        conn.close();
      } catch { /* already closed */ }
      await reading;
    },
  };
}

Deno.test("slowloris: a body that does not arrive within server.body_timeout_ms is a 408 (connection: close) and does not hold the drain", async () => {
  const gw = await startGateway({
    server: { body_timeout_ms: 300 },
    models: [{ name: "mock-gpt", provider: "mock" }],
  });
  const port = Number(new URL(gw.url).port);
  const body = JSON.stringify(chat());
  const head = (framing: string) =>
    `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n${framing}\r\n\r\n`;
  // Every connection is closed before the server shuts down (which waits for open ones).
  const conns: Awaited<ReturnType<typeof rawRequest>>[] = [];
  const open = async (text: string) => {
    const conn = await rawRequest(port, text);
    conns.push(conn);
    return conn;
  };
  let drip: ReturnType<typeof setInterval> | undefined;
  try {
    // Content-Length announced, a few bytes sent, the rest never.
    const t0 = Date.now();
    const stalled = await open(head(`content-length: ${body.length}`) + body.slice(0, 10));
    await until(
      () => /\r\n\r\n\{.*\}$/s.test(stalled.answer()),
      10_000,
      "an answer to the stalled body",
    );
    const elapsed = Date.now() - t0;
    assert.match(stalled.answer(), /^HTTP\/1\.1 408 /);
    assert.ok(elapsed >= 290 && elapsed < 5_000, `answered after ${elapsed} ms`);
    const json = JSON.parse(stalled.answer().slice(stalled.answer().indexOf("\r\n\r\n") + 4));
    assertError(json, "timeout_error", "request_timeout");
    // Deno asks the client to close; it cannot close a connection whose body is unfinished.
    assert.match(stalled.answer(), /\r\nconnection: close\r\n/i);

    // Chunked, one byte every 50 ms: each read is quick, the whole body is not.
    const slow = await open(head("transfer-encoding: chunked"));
    let i = 0;
    drip = setInterval(() => {
      if (i < body.length) void slow.write(`1\r\n${body[i++]}\r\n`);
    }, 50);
    await until(() => /^HTTP\/1\.1 \d{3}/.test(slow.answer()), 10_000, "an answer to the drip");
    assert.match(slow.answer(), /^HTTP\/1\.1 408 /);
    clearInterval(drip);

    // A body that arrives in time is served.
    const fine = await open(head(`content-length: ${body.length}`) + body);
    await until(() => /^HTTP\/1\.1 \d{3}/.test(fine.answer()), 10_000, "an answer");
    assert.match(fine.answer(), /^HTTP\/1\.1 200 /);

    // The stalled calls are over for the gateway: its drain (shutdown_timeout_ms 10 s) is immediate.
    const t1 = Date.now();
    await gw.gateway.close();
    assert.ok(Date.now() - t1 < 2_000, `the drain took ${Date.now() - t1} ms`);
  } finally {
    clearInterval(drip);
    for (const conn of conns) await conn.close();
    await gw.close();
  }
});

Deno.test("SIGTERM exits even while a client holds a request body open", async () => {
  const dir = await Deno.makeTempDir();
  const config = `${dir}/gateway.yaml`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      server: { data_dir: `${dir}/data`, shutdown_timeout_ms: 500, body_timeout_ms: 60_000 },
      models: [{ name: "mock-gpt", provider: "mock" }],
    }),
  );
  const gw = await startCliGateway(config);
  const body = JSON.stringify(chat());
  const stalled = await rawRequest(
    Number(new URL(gw.url).port),
    `POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
      `content-length: ${body.length}\r\n\r\n${body.slice(0, 10)}`,
  );
  try {
    // The call is in flight once the gateway has read the partial body: readiness still answers.
    await until(async () => (await fetch(`${gw.url}/health/readiness`)).ok, 5_000, "readiness");
    const exited = gw.terminate();
    let code: number | undefined;
    exited.then((c) => (code = c));
    await until(() => code !== undefined, 15_000, "the gateway to exit");
    assert.equal(code, 0, gw.stderr());
  } finally {
    await stalled.close();
    await gw.kill().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a body that arrives as a view into a larger buffer is kept in a buffer of its own", async () => {
  // A read can hand over a view into a 64 KiB buffer: the whole buffer would then travel with
  // the call to the log Worker.
  const json = new TextEncoder().encode('{"model":"m","messages":[]}');
  const backing = new Uint8Array(65_536);
  backing.set(json, 100);
  const view = backing.subarray(100, 100 + json.length);
  const req = new Request("http://127.0.0.1/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: new ReadableStream({
      start(controller) {
        controller.enqueue(view);
        controller.close();
      },
    }),
  });
  const { value, bytes } = await readJsonBody(req, {
    max_body_bytes: 1 << 20,
    max_json_depth: 64,
    body_timeout_ms: 5_000,
  });
  assert.equal(value.model, "m");
  assert.equal(bytes.byteLength, json.length);
  assert.equal(bytes.buffer.byteLength, json.length, "the bytes own their buffer");
});
