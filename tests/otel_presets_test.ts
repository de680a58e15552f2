/**
 * The otel presets arize, langtrace and langsmith behind a real gateway:
 * a LiteLLM config with `callbacks: ["arize", "langtrace", "langsmith"]`
 * becomes two otel sinks (the presets) and the langsmith plugin's sink;
 * served against loopback receivers standing in for the backends (their
 * endpoint variables point there), each receiver gets the call's span at
 * the backend's path with its auth headers. A native `preset: langsmith`
 * entry sends to `<LANGSMITH_ENDPOINT>/otel/v1/traces`.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { stringify } from "npm:yaml@2.9.1";
import { loadConfig } from "../core/mod.ts";
import { startGateway } from "./fakes/gateway.ts";
import { startUpstream } from "./fakes/upstream.ts";
import { startOtlpReceiver, until } from "../plugins/otel/testdata/otlp_receiver.ts";

const MASTER = "sk-1234-presets-master";
const ARIZE_KEY = "arize-api-key-secret-0001";
const LANGTRACE_KEY = "langtrace-api-key-secret-0001";
const LANGSMITH_KEY = "lsv2_pt_presets_secret_0001";

/** Runs with `vars` set in the process environment, then restores it. */
async function withEnv(vars: Record<string, string>, fn: () => Promise<void>): Promise<void> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  for (const [k, v] of Object.entries(vars)) Deno.env.set(k, v);
  try {
    await fn();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) Deno.env.delete(k);
      else Deno.env.set(k, v);
    }
  }
}

Deno.test("LiteLLM callbacks arize and langtrace: otel sinks with the presets, each backend gets the span with its auth", async () => {
  const upstream = startUpstream();
  const arize = startOtlpReceiver();
  const langtrace = startOtlpReceiver();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      stringify({
        model_list: [{
          model_name: "gpt-4o",
          litellm_params: { model: "openai/gpt-4o", api_base: upstream.url, api_key: "sk-up-1" },
        }],
        general_settings: { master_key: MASTER },
        litellm_settings: { callbacks: ["arize", "langtrace", "langsmith"] },
        environment_variables: {
          ARIZE_SPACE_KEY: "space-7",
          ARIZE_API_KEY: ARIZE_KEY,
          ARIZE_HTTP_ENDPOINT: `${arize.base}/v1`,
          LANGTRACE_API_KEY: LANGTRACE_KEY,
          LANGTRACE_API_HOST: langtrace.base,
          LANGSMITH_API_KEY: LANGSMITH_KEY,
        },
      }),
    );
    const config = await loadConfig(`${dir}/config.yaml`);
    const byName = Object.fromEntries(config.sinks.map((s) => [s.name, s]));
    assert.deepEqual(Object.keys(byName).sort(), ["arize", "langsmith", "langtrace"]);
    assert.equal(byName.arize.use, "otel");
    assert.deepEqual(byName.arize.config, { preset: "arize" });
    assert.equal(byName.langtrace.use, "otel");
    assert.deepEqual(byName.langtrace.config, { preset: "langtrace" });
    assert.equal(byName.langsmith.use, "langsmith", "LiteLLM's langsmith callback is the runs API");

    const gw = await startGateway({
      ...config,
      // the langsmith plugin's own delivery is its tests' business: serve the two presets
      sinks: config.sinks.filter((s) => s.use === "otel").map((s) => ({
        ...s,
        queue: { ...s.queue, flush_interval_ms: 10 },
      })),
    });
    try {
      const client = new OpenAI({ apiKey: MASTER, baseURL: `${gw.url}/v1`, maxRetries: 0 });
      await client.chat.completions.create({
        model: "gpt-4o",
        messages: [{ role: "user", content: "hello" }],
      });
      await until(
        () => arize.spans().length === 1 && langtrace.spans().length === 1,
        10_000,
        "a span at each backend",
      );
    } finally {
      await gw.close();
    }
    const [a] = arize.accepted;
    assert.equal(a.path, "/v1/traces");
    assert.equal(a.headers.get("space_id"), "space-7");
    assert.equal(a.headers.get("api_key"), ARIZE_KEY);
    assert.match(a.headers.get("content-type") ?? "", /x-protobuf/);
    assert.equal(a.spans[0].span.name, "chat gpt-4o");
    const [l] = langtrace.accepted;
    assert.equal(l.path, "/api/trace");
    assert.equal(l.headers.get("x-api-key"), LANGTRACE_KEY);
    assert.equal(l.spans[0].span.traceId, a.spans[0].span.traceId, "the same call");
  } finally {
    await arize.close();
    await langtrace.close();
    await upstream.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("preset langsmith (native config): <LANGSMITH_ENDPOINT>/otel/v1/traces with x-api-key and Langsmith-Project; a refusal names no key", async () => {
  const upstream = startUpstream();
  const langsmith = startOtlpReceiver();
  const logged: string[] = [];
  const origError = console.error;
  const origWarn = console.warn;
  try {
    await withEnv({
      LANGSMITH_API_KEY: LANGSMITH_KEY,
      LANGSMITH_PROJECT: "gateway-otel",
      LANGSMITH_ENDPOINT: langsmith.base,
    }, async () => {
      const gw = await startGateway({
        models: [{
          name: "gpt-4o",
          provider: "openai",
          api_base: upstream.url,
          api_key: "sk-up-2",
        }],
        sinks: [{
          name: "langsmith-otel",
          use: "otel",
          config: { preset: "langsmith" },
          queue: { flush_interval_ms: 10 },
        }],
      });
      try {
        const client = new OpenAI({ apiKey: "unused", baseURL: `${gw.url}/v1`, maxRetries: 0 });
        const ask = () =>
          client.chat.completions.create({
            model: "gpt-4o",
            messages: [{ role: "user", content: "hi" }],
          });
        await ask();
        await until(() => langsmith.spans().length === 1, 10_000, "the span");
        // a refusal (401) is reported without the key
        console.error = (...args: unknown[]) => logged.push(args.map(String).join(" "));
        console.warn = console.error;
        langsmith.answer(() => new Response("bad key", { status: 401 }));
        await ask();
        await until(() => langsmith.all.length >= 2, 10_000, "the refused export");
        await until(
          () => logged.some((line) => line.includes("401")),
          10_000,
          "the refusal in the gateway's log",
        );
      } finally {
        await gw.close();
      }
    });
    const [first] = langsmith.accepted;
    assert.equal(first.path, "/otel/v1/traces");
    assert.equal(first.headers.get("x-api-key"), LANGSMITH_KEY);
    assert.equal(first.headers.get("langsmith-project"), "gateway-otel");
    for (const line of logged) assert.ok(!line.includes(LANGSMITH_KEY), `key leaked: ${line}`);
  } finally {
    console.error = origError;
    console.warn = origWarn;
    await langsmith.close();
    await upstream.close();
  }
});
