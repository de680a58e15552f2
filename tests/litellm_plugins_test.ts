/**
 * Plugins own their LiteLLM mapping: core's translator only finds the plugin
 * that claims a callback name and calls its `litellm.toSink`. A third-party
 * plugin listed under `sluice.plugins` answers to its own callback names
 * (and before the built-in plugins), its settings keys are not reported as
 * unsupported, and the values it reads from the environment are secrets.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { stringify } from "npm:yaml@2.9.1";
import { checkConfig, loadConfig } from "../core/mod.ts";
import { configSecrets } from "../core/config/load.ts";
import { translateLiteLLMConfig } from "../core/config/litellm.ts";
import webhookPlugin from "@sluice/webhook";
import s3Plugin from "@sluice/s3";
import { startGateway } from "./fakes/gateway.ts";
import { startUpstream } from "./fakes/upstream.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url).pathname.replace(/\/$/, "");
const AUDIT = `${FIXTURES}/plugins/litellm_audit.js`;
const TOKEN = "audit-token-from-env-4242";
const noEnv = () => undefined;

/** A receiver that records each POST's headers and events. */
function receiver() {
  const posts: { headers: Headers; events: Record<string, unknown>[] }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    posts.push({ headers: req.headers, events: await req.json() });
    return new Response(null, { status: 204 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/audit`,
    posts,
    close: () => server.shutdown(),
  };
}

Deno.test("litellm plugins: the built-in mappings are the plugins' own", async () => {
  // The callback names and the settings keys come from the plugin definitions.
  assert.deepEqual(webhookPlugin.litellm?.callbacks, ["generic_api"]);
  assert.deepEqual(s3Plugin.litellm?.settings, ["s3_callback_params"]);
  const { config } = await translateLiteLLMConfig({
    litellm_settings: {
      callbacks: ["generic_api"],
      s3_callback_params: { s3_bucket_name: "b" },
    },
    callback_settings: { generic_api: { endpoint: "https://hooks.example.com/in" } },
  }, noEnv);
  const expected = webhookPlugin.litellm!.toSink!({
    callback: "generic_api",
    name: "generic_api",
    path: "litellm_settings.callbacks[0]",
    callbackSettings: { endpoint: "https://hooks.example.com/in" },
    litellmSettings: {},
    env: noEnv,
  });
  assert.deepEqual((config.sinks as Record<string, unknown>[])[0].config, expected.config);
});

Deno.test("litellm plugins: a plugin under sluice.plugins claims its callback names and settings", async () => {
  const raw = {
    model_list: [{ model_name: "m", litellm_params: { model: "openai/gpt-4o", api_key: "k" } }],
    environment_variables: { AUDIT_LOG_TOKEN: TOKEN },
    litellm_settings: {
      callbacks: ["audit_log"],
      failure_callback: ["generic_api"],
      audit_log_params: { url: "https://audit.example.com/in" },
    },
    callback_settings: { generic_api: { tag: "failures" } },
    sluice: { plugins: ["./plugins/litellm_audit.js"] },
  };
  const check = await checkConfig(raw, { env: noEnv, baseDir: FIXTURES });
  assert.ok(check.config, JSON.stringify(check.problems));
  // audit_log_params is read by a plugin: no "not supported" warning.
  assert.deepEqual(check.problems, []);
  assert.deepEqual(
    check.config.sinks.map((s) => [s.name, s.use, s.on, s.required, s.config]),
    [
      ["audit_log", "./plugins/litellm_audit.js", ["success", "failure"], true, {
        url: "https://audit.example.com/in",
        token: TOKEN,
        tag: "audit_log",
      }],
      // A listed plugin answers before the built-in webhook.
      ["generic_api", "./plugins/litellm_audit.js", ["failure"], true, {
        url: "https://audit.example.com/in",
        token: TOKEN,
        tag: "failures",
      }],
    ],
  );
  // A value the mapping read from the environment is a secret.
  assert.ok(configSecrets(check.config).has(TOKEN));

  // The mapping's own problems keep their LiteLLM key path; its callback gets no sink.
  const refused = await checkConfig(
    { ...raw, litellm_settings: { callbacks: ["audit_log"] }, callback_settings: {} },
    { env: noEnv, baseDir: FIXTURES },
  );
  assert.equal(refused.config, undefined);
  assert.deepEqual(refused.problems.map((p) => [p.severity, p.path]), [
    ["error", "litellm_settings.audit_log_params.url"],
  ]);

  // A source that cannot be imported is an error at its place in the list.
  const missing = await checkConfig(
    { ...raw, sluice: { plugins: ["./plugins/nope.js"] } },
    { env: noEnv, baseDir: FIXTURES },
  );
  const failed = missing.problems.find((p) => p.path === "sluice.plugins[0]");
  assert.equal(failed?.severity, "error");
  assert.match(failed.message, /no plugin file/);
});

Deno.test("litellm plugins: a LiteLLM config.yaml runs a third-party callback end to end", async () => {
  const upstream = startUpstream();
  const audit = receiver();
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      stringify({
        model_list: [{
          model_name: "gpt-4o",
          litellm_params: { model: "openai/gpt-4o", api_base: upstream.url, api_key: "sk-up-1" },
        }],
        environment_variables: { AUDIT_LOG_TOKEN: TOKEN },
        litellm_settings: { callbacks: ["audit_log"], audit_log_params: { url: audit.url } },
        sluice: { plugins: [AUDIT] },
      }),
    );
    const config = await loadConfig(`${dir}/config.yaml`);
    const gw = await startGateway({
      ...config,
      server: { ...config.server, data_dir: `${dir}/data` },
      sinks: config.sinks.map((s) => ({ ...s, queue: { ...s.queue, flush_interval_ms: 10 } })),
    });
    try {
      const client = new OpenAI({ apiKey: "x", baseURL: `${gw.url}/v1`, maxRetries: 0 });
      await client.chat.completions.create({
        model: "gpt-4o",
        messages: [{ role: "user", content: "audited" }],
      });
    } finally {
      await gw.close();
    }
    assert.equal(audit.posts.length, 1);
    assert.equal(audit.posts[0].headers.get("authorization"), `Bearer ${TOKEN}`);
    assert.equal(audit.posts[0].headers.get("x-tag"), "audit_log");
    assert.equal(audit.posts[0].events[0].model_group, "gpt-4o");
  } finally {
    await upstream.close();
    await audit.close();
    await Deno.remove(dir, { recursive: true });
  }
});
