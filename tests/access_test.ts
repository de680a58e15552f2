/**
 * What the gateway tells a caller without the right key: `/metrics` and
 * readiness details need the master key or `server.metrics_key` whenever
 * keys are configured, liveness says nothing, and a model hidden from a key
 * answers exactly like a model that does not exist.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { startGateway } from "./fakes/gateway.ts";

const MASTER = "sk-master-access-0001";
const SCRAPER = "sk-metrics-access-0002";
const ONLY_A = "sk-only-a-access-0003";

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, type: res.headers.get("content-type"), text };
}

function config(server: Record<string, unknown>) {
  return {
    server,
    models: [{ name: "a", provider: "mock" as const }, {
      name: "hidden-b",
      provider: "mock" as const,
    }],
    keys: [{ key: ONLY_A, models: ["a"] }],
  };
}

Deno.test("/metrics needs the master key or server.metrics_key as a Bearer token when keys are configured", async () => {
  const gw = await startGateway(config({ master_key: MASTER, metrics_key: SCRAPER }));
  try {
    const client = new OpenAI({ apiKey: ONLY_A, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({
      model: "a",
      messages: [{ role: "user", content: "x" }],
    });

    for (
      const [headers, code] of [[{}, "missing_api_key"], [
        bearer("sk-wrong-key-9999"),
        "invalid_api_key",
      ]] as const
    ) {
      const r = await get(`${gw.url}/metrics`, headers);
      assert.equal(r.status, 401);
      assert.equal(r.type, "application/json");
      const body = JSON.parse(r.text);
      assert.equal(body.error.type, "authentication_error");
      assert.equal(body.error.code, code);
      assert.ok(!r.text.includes("hidden-b") && !r.text.includes("sluice_"));
    }
    // A virtual key may call models but not read everyone's traffic.
    const virtual = await get(`${gw.url}/metrics`, bearer(ONLY_A));
    assert.equal(virtual.status, 403);
    assert.equal(JSON.parse(virtual.text).error.type, "permission_error");

    for (const key of [MASTER, SCRAPER]) {
      const r = await get(`${gw.url}/metrics`, bearer(key));
      assert.equal(r.status, 200, key);
      assert.match(r.type!, /^text\/plain; version=0\.0\.4/);
      assert.match(r.text, /^# TYPE sluice_requests_total counter$/m);
    }
    // The scrape key is not an API key.
    await assert.rejects(
      new OpenAI({ apiKey: SCRAPER, baseURL: `${gw.url}/v1`, maxRetries: 0 }).models.list(),
      (e: InstanceType<typeof OpenAI.APIError>) => e.status === 401,
    );
  } finally {
    await gw.close();
  }
});

Deno.test("a metrics_key alone protects /metrics; with no key at all it stays open", async () => {
  const scraped = await startGateway({
    server: { metrics_key: SCRAPER },
    models: [{ name: "a", provider: "mock" }],
  });
  const open = await startGateway({ models: [{ name: "a", provider: "mock" }] });
  try {
    assert.equal((await get(`${scraped.url}/metrics`)).status, 401);
    assert.equal((await get(`${scraped.url}/metrics`, bearer(SCRAPER))).status, 200);
    assert.equal((await get(`${open.url}/metrics`)).status, 200);
  } finally {
    await scraped.close();
    await open.close();
  }
});

Deno.test("readiness: status only without a key, details with one; liveness says only ok", async () => {
  const gw = await startGateway({
    ...config({ master_key: MASTER }),
    sinks: [{ use: "console", name: "audit-console" }],
  });
  try {
    for (const headers of [{}, bearer("sk-wrong-key-9999"), bearer(ONLY_A)]) {
      const r = await get(`${gw.url}/health/readiness`, headers);
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.text), { status: "ready" });
    }
    const detailed = JSON.parse((await get(`${gw.url}/health/readiness`, bearer(MASTER))).text);
    assert.equal(detailed.status, "ready");
    assert.deepEqual(detailed.sinks, ["audit-console"]);
    assert.match(detailed.version, /^\d+\.\d+\.\d+/);

    const live = await get(`${gw.url}/health/liveness`);
    assert.equal(live.status, 200);
    assert.deepEqual(JSON.parse(live.text), { status: "ok" });
  } finally {
    await gw.close();
  }
  // Shutting down: 503 and the status, still nothing more.
  const closing = await startGateway(config({ master_key: MASTER }));
  const done = closing.gateway.close();
  try {
    const r = await get(`${closing.url}/health/readiness`);
    assert.equal(r.status, 503);
    assert.deepEqual(JSON.parse(r.text), { status: "shutting_down" });
  } finally {
    await done;
    await closing.close();
  }
});

Deno.test("a model hidden from a key answers like a model that does not exist", async () => {
  const gw = await startGateway(config({ master_key: MASTER }));
  try {
    const call = async (model: string) => {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { ...bearer(ONLY_A), "content-type": "application/json" },
        body: JSON.stringify({ model, messages: [{ role: "user", content: "x" }] }),
      });
      return { status: res.status, text: await res.text() };
    };
    const hidden = await call("hidden-b");
    const missing = await call("no-such-model");
    assert.equal(hidden.status, 404);
    assert.equal(missing.status, 404);
    assert.equal(hidden.text.replaceAll("hidden-b", "no-such-model"), missing.text);
    const error = JSON.parse(hidden.text).error;
    assert.equal(error.code, "model_not_found");
    assert.equal(error.param, "model");
    assert.match(error.message, /Available models: a\.$/);

    // The master key still sees every model.
    const master = new OpenAI({ apiKey: MASTER, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const answer = await master.chat.completions.create({
      model: "hidden-b",
      messages: [{ role: "user", content: "x" }],
    });
    assert.match(answer.choices[0].message.content!, /mock model/);
  } finally {
    await gw.close();
  }
});
