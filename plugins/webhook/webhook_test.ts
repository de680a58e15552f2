import assert from "node:assert/strict";
import webhookPlugin, {
  createWebhookSink,
  displayUrl,
  parseRetryAfter,
  webhookConfigSchema,
} from "./mod.ts";
import {
  assertConformance,
  checkHttpSinkConformance,
  createTestContext,
  HTTP_SINK_CHECKS,
  resolvePermissions,
  sampleEvents,
} from "@sluice/core/testing";
import type { LogEvent, SinkError } from "@sluice/core/plugin";
import denoJson from "./deno.json" with { type: "json" };

const idsIn = (body: Uint8Array): string[] =>
  (JSON.parse(new TextDecoder().decode(body)) as LogEvent[]).map((e) => e.request_id);

Deno.test("the webhook passes the HTTP sink conformance kit", async () => {
  const report = await checkHttpSinkConformance(webhookPlugin, {
    config: (url) => ({ url, headers: { authorization: "Bearer conformance" }, timeout_ms: 2000 }),
    eventsIn: (req) => {
      assert.equal(req.method, "POST");
      return idsIn(req.body);
    },
    batchSize: 4,
  });
  assertConformance(report);
  assert.equal(report.checks.length, Object.keys(HTTP_SINK_CHECKS).length);
});

/** A receiver that records requests and answers with `answer()`. */
function receiver(answer: (req: Request) => Response | Promise<Response>) {
  const requests: { method: string; url: string; headers: Headers; body: string }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    requests.push({
      method: req.method,
      url: req.url,
      headers: req.headers,
      body: await req.text(),
    });
    return await answer(req);
  });
  return {
    requests,
    base: `http://127.0.0.1:${server.addr.port}`,
    close: () => server.shutdown(),
  };
}

async function rejection(promise: Promise<unknown> | unknown): Promise<SinkError> {
  try {
    await promise;
  } catch (error) {
    return error as SinkError;
  }
  throw new Error("log resolved; expected a rejection");
}

Deno.test("POSTs the batch as a JSON array with the configured headers", async () => {
  const rx = receiver(() => new Response(null, { status: 204 }));
  try {
    const sink = await webhookPlugin.create({
      url: `${rx.base}/hook?tenant=t1`,
      headers: { Authorization: "Bearer hdr-secret", "X-Tenant": "t1" },
    }, createTestContext());
    const events = sampleEvents(3);
    await sink.log(events);
    await sink.log([]); // nothing to send: no request
    assert.equal(rx.requests.length, 1);
    const [req] = rx.requests;
    assert.equal(req.method, "POST");
    assert.equal(req.url, `${rx.base}/hook?tenant=t1`);
    assert.equal(req.headers.get("authorization"), "Bearer hdr-secret");
    assert.equal(req.headers.get("x-tenant"), "t1");
    assert.equal(req.headers.get("content-type"), "application/json");
    assert.equal(req.headers.get("user-agent"), `sluice-webhook/${denoJson.version}`);
    assert.deepEqual(JSON.parse(req.body), events);
  } finally {
    await rx.close();
  }
});

Deno.test("error messages name status and URL, never the query string or header values", async () => {
  let status = 401;
  const rx = receiver(async () => {
    if (status === 0) await new Promise((r) => setTimeout(r, 300)); // slower than timeout_ms
    return new Response("nope", {
      status: status || 200,
      headers: { "retry-after": "Wed, 21 Oct 2015 07:28:00 GMT" },
    });
  });
  const query = "token=s3cret-query";
  const header = "Bearer hdr-s3cret";
  try {
    const sink = createWebhookSink({
      url: `${rx.base}/hook?${query}`,
      headers: { authorization: header },
      timeout_ms: 100,
    }, createTestContext());
    const expected: [number, RegExp, Partial<SinkError>][] = [
      [401, /answered 401 Unauthorized: check the credentials/, { permanent: undefined }],
      [403, /answered 403 Forbidden: check the credentials/, { permanent: undefined }],
      [404, /answered 404 Not Found: check this sink's url/, { permanent: undefined }],
      [400, /answered 400 Bad Request: the receiver refused these 2 events/, { permanent: true }],
      [503, /answered 503 Service Unavailable; the batch will be retried/, {}],
      // a date in the past: retry now
      [429, /answered 429 Too Many Requests: rate limited; retry in 0 ms/, { retryAfterMs: 0 }],
      [302, /answered 302 Found: a redirect; redirects are not followed/, {}],
      [0, /timed out after 100 ms/, {}],
    ];
    for (const [code, message, props] of expected) {
      status = code;
      const error = await rejection(sink.log(sampleEvents(2)));
      assert.match(error.message, message);
      assert.ok(error.message.includes(`${rx.base}/hook`), error.message);
      assert.ok(!error.message.includes("s3cret"), error.message);
      for (const [key, value] of Object.entries(props)) {
        assert.equal(error[key as keyof SinkError], value, `${code} ${key}`);
      }
      if (code !== 400) assert.notEqual(error.permanent, true);
    }
    // redirects are not followed: the 302 was one POST, no GET
    assert.ok(rx.requests.every((r) => r.method === "POST"));
  } finally {
    await rx.close();
  }

  // connection refused: the fetch error quotes the full URL; the sink scrubs it
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const down = `http://127.0.0.1:${listener.addr.port}/hook`;
  listener.close();
  const sink = createWebhookSink(
    { url: `${down}?${query}`, headers: { authorization: header } },
    createTestContext(),
  );
  const error = await rejection(sink.log(sampleEvents(1)));
  assert.match(error.message, new RegExp(`^webhook: POST ${down} failed: `));
  assert.ok(!error.message.includes("s3cret"), error.message);
  assert.notEqual(error.permanent, true);
  assert.equal(error.cause, undefined, "no cause carrying the raw URL");
});

Deno.test("parseRetryAfter reads seconds and HTTP dates", () => {
  const now = Date.UTC(2025, 9, 21, 7, 28, 0);
  assert.equal(parseRetryAfter("2", now), 2000);
  assert.equal(parseRetryAfter(" 120 ", now), 120_000);
  assert.equal(parseRetryAfter("1.5", now), 1500);
  assert.equal(parseRetryAfter("Tue, 21 Oct 2025 07:28:30 GMT", now), 30_000);
  assert.equal(parseRetryAfter("Tue, 21 Oct 2025 07:27:00 GMT", now), 0);
  assert.equal(parseRetryAfter(null, now), undefined);
  assert.equal(parseRetryAfter("", now), undefined);
  assert.equal(parseRetryAfter("-1", now), undefined);
  assert.equal(parseRetryAfter("soon", now), undefined);
});

Deno.test("429 without Retry-After waits 1000 ms", async () => {
  const rx = receiver(() => new Response(null, { status: 429 }));
  try {
    const sink = createWebhookSink({ url: `${rx.base}/` }, createTestContext());
    const error = await rejection(sink.log(sampleEvents(1)));
    assert.equal(error.retryAfterMs, 1000);
  } finally {
    await rx.close();
  }
});

Deno.test("displayUrl drops user info, query and fragment", () => {
  assert.equal(
    displayUrl("https://u:pw@h.example.com:8443/a/b?k=v#f"),
    "https://h.example.com:8443/a/b",
  );
  assert.equal(displayUrl("not a url"), "<invalid url>");
});

Deno.test("the plugin definition: contract v1, version from deno.json, config checked without leaking", () => {
  assert.equal(webhookPlugin.apiVersion, 1);
  assert.equal(webhookPlugin.name, "webhook");
  assert.equal(webhookPlugin.version, denoJson.version);
  assert.equal(webhookPlugin.configSchema, webhookConfigSchema);
  assert.deepEqual(
    resolvePermissions(webhookPlugin, { url: "https://hooks.example.com:8443/in" }),
    {
      net: ["hooks.example.com:8443"],
      env: [],
    },
  );
  assert.deepEqual(webhookConfigSchema.required, ["url"]);
  assert.doesNotThrow(() => structuredClone(webhookConfigSchema));
  const ctx = createTestContext();
  assert.throws(
    () => webhookPlugin.create({ url: "hooks.example.com" }, ctx),
    /config\.url: must be an absolute http:\/\/ or https:\/\/ URL/,
  );
  assert.throws(() => webhookPlugin.create({ url: "ftp://h/x" }, ctx), /config\.url: must be/);
  assert.throws(
    () => webhookPlugin.create({ url: "http://h/", timeout_ms: 0 }, ctx),
    /config\.timeout_ms: Too small/,
  );
  assert.throws(
    () =>
      webhookPlugin.create(
        { url: "http://h/", headers: { authorization: "Bearer s3cret\nx" } },
        ctx,
      ),
    (e: Error) => {
      assert.match(e.message, /headers\["authorization"\] is not a valid/);
      assert.ok(!e.message.includes("s3cret"));
      return true;
    },
  );
});
