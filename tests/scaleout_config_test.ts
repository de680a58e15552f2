/**
 * Scale-out without an engine: `log.transport` validation and resolution
 * (LiteLLM's Redis variables, key paths in messages, no credential shown),
 * `deliver` refusing a `local` config, and a gateway whose engine is
 * unreachable: it answers every call, keeps the events in its spool and
 * counts the failed publishes in `/metrics`.
 */
import assert from "node:assert/strict";
import { checkConfig } from "../core/config/load.ts";
import { resolveTransport, subjectToken } from "../core/transport/options.ts";
import type { LogTransportConfig } from "../core/config/types.ts";
import { startGateway } from "./fakes/gateway.ts";
import { sendCalls, until } from "./fakes/outage.ts";

const MOD = new URL("../mod.ts", import.meta.url).pathname;
const base: LogTransportConfig = {
  kind: "redis",
  stream: "sluice-events",
  ack_wait_ms: 30_000,
  max_attempts: 10,
};

function envOf(vars: Record<string, string>) {
  return (name: string) => vars[name];
}

Deno.test("log.transport: defaults, and errors that name the key path", async () => {
  const ok = await checkConfig({ log: { transport: { kind: "nats" } } });
  assert.deepEqual(ok.config?.log.transport, {
    kind: "nats",
    stream: "sluice-events",
    ack_wait_ms: 30_000,
    max_attempts: 10,
  });
  const local = await checkConfig({});
  assert.equal(local.config?.log.transport.kind, "local");
  const bad = await checkConfig({ log: { transport: { kind: "kafka", stream: "a.b" } } });
  const paths = bad.problems.map((p) => p.path).sort();
  assert.deepEqual(paths, ["log.transport.kind", "log.transport.stream"]);
});

Deno.test("resolveTransport: Redis falls back to REDIS_URL, then REDIS_HOST/PORT/PASSWORD", () => {
  assert.equal(resolveTransport({ ...base, kind: "local" }), undefined);
  const fromUrl = resolveTransport(base, envOf({ REDIS_URL: "redis://cache:6380/2" }))!;
  assert.equal(fromUrl.options.url, "redis://cache:6380/2");
  const fromHost = resolveTransport(
    base,
    envOf({ REDIS_HOST: "cache", REDIS_PORT: "6381", REDIS_PASSWORD: "pw-from-env-123" }),
  )!;
  assert.equal(fromHost.options.url, "redis://cache:6381");
  assert.equal(fromHost.options.password, "pw-from-env-123");
  assert.ok(fromHost.secrets.includes("pw-from-env-123"));
  const configured = resolveTransport(
    { ...base, url: "redis://:in-url-secret-9@10.0.0.5:6379", max_bytes: 1000, max_age_ms: 60_000 },
    envOf({ REDIS_URL: "redis://ignored:1" }),
  )!;
  assert.equal(configured.options.url, "redis://:in-url-secret-9@10.0.0.5:6379");
  assert.equal(configured.options.maxBytes, 1000);
  assert.equal(configured.options.maxAgeMs, 60_000);
  assert.ok(configured.secrets.includes("in-url-secret-9"));
  const nats = resolveTransport({ ...base, kind: "nats" }, envOf({ REDIS_URL: "redis://x:1" }))!;
  assert.equal(nats.options.url, "nats://127.0.0.1:4222");
});

Deno.test("resolveTransport: a wrong URL names its key path and never shows a credential", () => {
  assert.throws(
    () => resolveTransport({ ...base, kind: "nats", url: "http://u:hunter2-secret@h:1" }),
    (error: Error) => {
      assert.match(error.message, /^log\.transport\.url: expected a nats URL/);
      assert.ok(!error.message.includes("hunter2-secret"));
      return true;
    },
  );
  assert.throws(
    () => resolveTransport(base, envOf({ REDIS_URL: "mysql://root:pw-xyz-123@db" })),
    (error: Error) => {
      assert.match(error.message, /^REDIS_URL: expected a redis URL/);
      assert.ok(!error.message.includes("pw-xyz-123"));
      return true;
    },
  );
  assert.throws(
    () => resolveTransport(base, envOf({ REDIS_HOST: "cache", REDIS_PORT: "six" })),
    /REDIS_PORT: expected a port number/,
  );
});

Deno.test("subjectToken keeps safe names and escapes the rest", () => {
  assert.equal(subjectToken("webhook-2_a"), "webhook-2_a");
  assert.equal(subjectToken("my.sink *>"), "my~2esink~20~2a~3e");
});

Deno.test("--check reports a log stream URL of the wrong engine, without its credential", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/gateway.json`,
      JSON.stringify({ log: { transport: { kind: "nats", url: "http://u:chk-secret-4@h:1" } } }),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MOD, "--check", "--config", `${dir}/gateway.json`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 1);
    assert.match(text, /error: log\.transport\.url: expected a nats URL like nats:\/\/host:4222/);
    assert.ok(!text.includes("chk-secret-4"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deliver refuses a config whose transport is local", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/gateway.json`, JSON.stringify({ models: [] }));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", MOD, "deliver", "--config", `${dir}/gateway.json`, "--port", "0"],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 1);
    assert.match(new TextDecoder().decode(out.stderr), /log\.transport\.kind is "local"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("engine unreachable: the gateway answers every call and keeps the events in its spool", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = probe.addr.port;
  probe.close();
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{ use: "webhook", config: { url: "http://127.0.0.1:9/never" } }],
    log: {
      transport: { kind: "nats", url: `nats://user:nats-pw-77x@127.0.0.1:${closedPort}` },
    },
  });
  try {
    const ids = Array.from({ length: 50 }, (_, i) => `unreachable-${i}`);
    const statuses = await sendCalls(gw.url, ids, 8);
    assert.ok(ids.every((id) => statuses.get(id) === 200), "every call answered");
    const metrics = async () => await (await fetch(`${gw.url}/metrics`)).text();
    const failed = /sluice_stream_publish_failed_total\{[^}]*sink="webhook"\} [1-9]/;
    const spooled = /sluice_sink_spool_events\{sink="webhook"\} 50\n/;
    await until(
      async () => {
        const text = await metrics();
        return failed.test(text) && spooled.test(text);
      },
      10_000,
      "a failed publish counted and all 50 events in the spool",
    );
    const text = await metrics();
    assert.ok(!text.includes("nats-pw-77x"));
  } finally {
    await gw.close();
  }
});
