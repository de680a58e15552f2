/**
 * LiteLLM migration: a proxy `config.yaml` translated into the native shape
 * (models, master key, environment, callbacks as sinks, logging and
 * redaction settings), warnings for what is not supported, and a LiteLLM
 * config run end to end with LiteLLM's response headers.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { stringify } from "npm:yaml@2.9.1";
import { checkConfig, loadConfig } from "../core/mod.ts";
import { configSecrets } from "../core/config/load.ts";
import { translateLiteLLMConfig } from "../core/config/litellm.ts";
import { startGateway } from "./fakes/gateway.ts";
import { startUpstream } from "./fakes/upstream.ts";

const noEnv = () => undefined;

Deno.test("litellm: model_list becomes models; unsupported providers and keys are warnings, not errors", async () => {
  const { config, problems } = await translateLiteLLMConfig({
    model_list: [
      {
        model_name: "gpt-4o",
        litellm_params: {
          model: "openai/gpt-4o",
          api_key: "os.environ/OPENAI_API_KEY",
          timeout: 30,
          max_retries: 1,
          rpm: 100,
        },
        model_info: { id: "oa-1", input_cost_per_token: 2.5e-6 },
      },
      {
        model_name: "azure-4o",
        litellm_params: {
          model: "azure/my-deployment",
          api_base: "https://x.openai.azure.com",
          api_version: "2024-10-21",
        },
      },
      { model_name: "claude", litellm_params: { model: "claude-3-5-sonnet-20241022" } },
      { model_name: "llama", litellm_params: { model: "groq/llama-3.1-8b-instant" } },
      { model_name: "titan", litellm_params: { model: "bedrock/amazon.titan-text" } },
    ],
    general_settings: { master_key: "sk-master-1234", database_url: "postgres://x" },
    router_settings: { routing_strategy: "least-busy" },
    litellm_settings: { drop_params: true },
  }, noEnv);
  assert.deepEqual(config.models, [
    {
      name: "gpt-4o",
      model: "gpt-4o",
      provider: "openai",
      api_key: "os.environ/OPENAI_API_KEY",
      timeout_s: 30,
      max_retries: 1,
      id: "oa-1",
      input_cost_per_token: 2.5e-6,
    },
    {
      name: "azure-4o",
      model: "my-deployment",
      provider: "azure",
      api_base: "https://x.openai.azure.com",
      api_version: "2024-10-21",
    },
    { name: "claude", model: "claude-3-5-sonnet-20241022", provider: "anthropic" },
    {
      name: "llama",
      model: "llama-3.1-8b-instant",
      provider: "openai",
      api_base: "https://api.groq.com/openai/v1",
    },
  ]);
  assert.equal((config.server as Record<string, unknown>).master_key, "sk-master-1234");
  assert.ok(problems.every((p) => p.severity === "warning"), JSON.stringify(problems));
  assert.deepEqual(problems.map((p) => p.path).sort(), [
    "general_settings.database_url",
    "litellm_settings.drop_params",
    "model_list[0].litellm_params.rpm",
    "model_list[4].litellm_params.model",
    "router_settings",
  ]);
  assert.match(problems.find((p) => p.path.startsWith("model_list[4]"))!.message, /bedrock/);
});

Deno.test("litellm: callbacks become sinks with on:, and logging settings become redaction and controls", async () => {
  const { config, problems } = await translateLiteLLMConfig({
    model_list: [],
    litellm_settings: {
      callbacks: ["otel"],
      success_callback: ["langfuse", "s3_v2"],
      failure_callback: ["sentry", "langfuse"],
      turn_off_message_logging: true,
      redact_user_api_key_info: true,
      global_disable_no_log_param: true,
      forward_traceparent_to_llm_provider: true,
      langfuse_default_tags: ["proxy_base_url", "user_api_key_alias"],
      s3_callback_params: {
        s3_bucket_name: "logs",
        s3_region_name: "us-west-2",
        s3_aws_access_key_id: "os.environ/AWS_ACCESS_KEY_ID",
        s3_aws_secret_access_key: "os.environ/AWS_SECRET_ACCESS_KEY",
        s3_endpoint_url: "http://127.0.0.1:9000",
        s3_path: "llm",
        s3_use_team_prefix: true,
        s3_flush_interval: 5,
        s3_batch_size: 50,
        s3_strip_base64_files: true,
        s3_aws_role_name: "arn:aws:iam::1:role/x",
      },
    },
    general_settings: { allow_dynamic_callback_disabling: false },
    callback_settings: { otel: { message_logging: false }, datadog: {} },
  }, noEnv);
  const sinks = config.sinks as Record<string, unknown>[];
  assert.deepEqual(sinks.map((s) => [s.name, s.use, s.on]), [
    ["otel", "otel", ["success", "failure"]],
    ["langfuse", "langfuse", ["success", "failure"]],
    ["s3_v2", "s3", ["success"]],
    ["sentry", "sentry", ["failure"]],
  ]);
  assert.deepEqual(sinks[0].redaction, { messages: "remove", redact_user_api_key_info: true });
  assert.deepEqual(sinks[1].config, {
    default_tags: ["proxy_base_url", "user_api_key_alias"],
  });
  assert.deepEqual(sinks[2].config, {
    bucket: "logs",
    region: "us-west-2",
    access_key_id: "os.environ/AWS_ACCESS_KEY_ID",
    secret_access_key: "os.environ/AWS_SECRET_ACCESS_KEY",
    endpoint_url: "http://127.0.0.1:9000",
    path: "llm",
    use_team_prefix: true,
  });
  assert.deepEqual(sinks[2].queue, { flush_interval_ms: 5000, batch_size: 50 });
  assert.deepEqual(sinks[2].redaction, {
    messages: "remove",
    redact_user_api_key_info: true,
    drop_non_text_parts: true,
  });
  assert.deepEqual(config.redaction, { messages: "remove", redact_user_api_key_info: true });
  assert.deepEqual(config.controls, {
    global_disable_no_log_param: true,
    allow_dynamic_callback_disabling: false,
    forward_traceparent_to_llm_provider: true,
  });
  assert.deepEqual(problems.map((p) => [p.severity, p.path]), [
    ["warning", "litellm_settings.s3_callback_params.s3_aws_role_name"],
    ["warning", "callback_settings.datadog"],
  ]);
});

Deno.test("litellm: openmeter keeps LiteLLM's event type and trusts the request user unless told not to", async () => {
  const sinkOf = async (env: Record<string, string>) =>
    ((await translateLiteLLMConfig(
      { litellm_settings: { callbacks: ["openmeter"] } },
      (n) => env[n],
    )).config.sinks as Record<string, unknown>[])[0];
  assert.equal((await sinkOf({})).required, true, "no-log cannot dodge billing");
  assert.deepEqual((await sinkOf({})).config, {
    event_type: "litellm_tokens",
    trust_request_user: true,
  });
  assert.deepEqual(
    (await sinkOf({ OPENMETER_TRUST_REQUEST_USER: "False", OPENMETER_EVENT_TYPE: "t" })).config,
    {
      event_type: "t",
      trust_request_user: false,
    },
  );
});

Deno.test("litellm: a bucket callback needs a pin, and the refusal shows how to give one", async () => {
  const raw = { litellm_settings: { callbacks: ["s3://my-bucket/plugins/audit.sink"] } };
  const refused = await translateLiteLLMConfig(raw, noEnv);
  assert.equal(refused.problems.length, 1);
  assert.equal(refused.problems[0].severity, "error");
  assert.match(refused.problems[0].message, /needs a pin/);
  assert.match(refused.problems[0].message, /plugin_pins:/);
  assert.match(refused.problems[0].message, /SLUICE_PLUGIN_PINS=/);

  const hash = "a".repeat(64);
  const viaEnv = await translateLiteLLMConfig(
    raw,
    (n) => n === "SLUICE_PLUGIN_PINS" ? `s3://my-bucket/plugins/audit.sink=${hash}` : undefined,
  );
  assert.deepEqual(viaEnv.problems, []);
  assert.deepEqual((viaEnv.config.sinks as unknown[])[0], {
    name: "audit-sink",
    use: "s3://my-bucket/plugins/audit.ts",
    config: {},
    sha256: hash,
    on: ["success", "failure"],
  });
  const viaSection = await translateLiteLLMConfig(
    { ...raw, sluice: { allow_unpinned: ["s3://my-bucket/plugins/audit.sink"] } },
    noEnv,
  );
  assert.equal((viaSection.config.sinks as Record<string, unknown>[])[0].allow_unpinned, true);
});

Deno.test("litellm: environment_variables resolve os.environ/ references; the whole config validates", async () => {
  const check = await checkConfig({
    environment_variables: { UPSTREAM_KEY: "sk-from-environment-variables" },
    model_list: [{
      model_name: "m",
      litellm_params: { model: "openai/gpt-4o-mini", api_key: "os.environ/UPSTREAM_KEY" },
    }],
    litellm_settings: { set_verbose: true },
  }, { env: noEnv });
  assert.ok(check.config, JSON.stringify(check.problems));
  assert.equal(check.config.models[0].api_key, "sk-from-environment-variables");
  assert.equal(check.config.server.litellm_headers, true);
  assert.deepEqual(check.problems.map((p) => p.path), ["litellm_settings.set_verbose"]);
});

/** A webhook receiver standing in for LiteLLM's generic_api endpoint. */
function receiver() {
  const batches: { headers: Headers; events: Record<string, unknown>[] }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    batches.push({ headers: req.headers, events: await req.json() });
    return new Response("ok");
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/logs`,
    batches,
    events: () => batches.flatMap((b) => b.events),
    close: () => server.shutdown(),
  };
}

Deno.test("litellm: a LiteLLM config.yaml runs as is: generic_api callbacks, message logging off, LiteLLM headers", async () => {
  const upstream = startUpstream();
  const all = receiver();
  const quiet = receiver();
  const dir = await Deno.makeTempDir();
  const file = `${dir}/config.yaml`;
  await Deno.writeTextFile(
    file,
    stringify({
      model_list: [{
        model_name: "gpt-4o",
        litellm_params: {
          model: "openai/gpt-4o",
          api_base: upstream.url,
          api_key: "os.environ/LITELLM_TEST_UPSTREAM_KEY",
        },
      }],
      general_settings: { master_key: "sk-litellm-master-1234" },
      environment_variables: {
        LITELLM_TEST_UPSTREAM_KEY: "sk-upstream-from-env-5678",
        GENERIC_LOGGER_ENDPOINT: all.url,
        GENERIC_LOGGER_HEADERS: "Authorization=Bearer receiver-token-91011",
      },
      litellm_settings: {
        callbacks: ["generic_api", "quiet_api"],
        redact_user_api_key_info: true,
      },
      callback_settings: {
        quiet_api: {
          callback_type: "generic_api",
          endpoint: quiet.url,
          message_logging: false,
          event_types: ["llm_api_success"],
        },
      },
    }),
  );
  const config = await loadConfig(file);
  // Header values taken from GENERIC_LOGGER_HEADERS are credentials: masked wherever they appear.
  assert.ok(configSecrets(config).has("Bearer receiver-token-91011"));
  const gw = await startGateway({
    ...config,
    server: { ...config.server, data_dir: `${dir}/data` },
    sinks: config.sinks.map((s) => ({ ...s, queue: { ...s.queue, flush_interval_ms: 10 } })),
  });
  try {
    const client = new OpenAI({
      apiKey: "sk-litellm-master-1234",
      baseURL: `${gw.url}/v1`,
      maxRetries: 0,
    });
    const { data, response } = await client.chat.completions.create({
      model: "gpt-4o",
      messages: [{ role: "user", content: "hello from a LiteLLM user" }],
    }).withResponse();
    assert.ok(data.choices[0].message.content);
    const h = response.headers;
    assert.equal(h.get("x-litellm-call-id"), h.get("x-sluice-call-id"));
    assert.equal(h.get("x-litellm-model-id"), h.get("x-sluice-model-id"));
    assert.equal(h.get("x-litellm-model-api-base"), upstream.url);
    assert.equal(h.get("x-litellm-version"), h.get("x-sluice-version"));
    assert.equal(h.get("x-litellm-overhead-duration-ms"), h.get("x-sluice-overhead-ms"));
    assert.ok(Number(h.get("x-litellm-response-duration-ms")) > 0);
    // The upstream got the key from environment_variables.
    assert.equal(upstream.requests[0].headers.authorization, "Bearer sk-upstream-from-env-5678");

    // LiteLLM's request controls: a client call id, and disabling one callback by name.
    await client.chat.completions.create(
      { model: "gpt-4o", messages: [{ role: "user", content: "second" }] },
      {
        headers: {
          "x-litellm-call-id": "client-call-1",
          "x-litellm-disable-callbacks": "quiet_api",
        },
      },
    );
    await gw.close();
    const events = all.events();
    assert.equal(events.length, 2);
    assert.equal(all.batches[0].headers.get("authorization"), "Bearer receiver-token-91011");
    assert.deepEqual(events[0].messages, [{ role: "user", content: "hello from a LiteLLM user" }]);
    assert.ok(events.some((e) => e.call_id === "client-call-1"));
    const quietEvents = quiet.events();
    assert.equal(quietEvents.length, 1, "x-litellm-disable-callbacks skipped the second call");
    assert.equal(quietEvents[0].messages, "[REDACTED]");
    for (const e of [...events, ...quietEvents]) {
      const line = JSON.stringify(e);
      assert.ok(!line.includes("sk-upstream-from-env-5678"));
      assert.ok(!line.includes("sk-litellm-master-1234"));
      assert.ok(!line.includes("receiver-token-91011"));
      assert.ok(!Object.keys(e.metadata as object).some((k) => k.startsWith("user_api_key")));
    }
  } finally {
    await gw.close();
    await upstream.close();
    await all.close();
    await quiet.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("litellm: --check lists the unsupported keys and exits 0", async () => {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/config.yaml`;
  await Deno.writeTextFile(
    file,
    stringify({
      model_list: [{ model_name: "m", litellm_params: { model: "openai/gpt-4o", rpm: 10 } }],
      litellm_settings: { callbacks: ["prometheus"], cache: true },
      general_settings: { alerting: ["slack"] },
    }),
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../mod.ts", import.meta.url).pathname,
      "--check",
      "--config",
      file,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, text + new TextDecoder().decode(out.stderr));
  for (
    const path of [
      "model_list[0].litellm_params.rpm",
      "litellm_settings.callbacks[0]",
      "litellm_settings.cache",
      "general_settings.alerting",
    ]
  ) {
    assert.match(text, new RegExp(`warning: ${path.replace(/[[\].]/g, "\\$&")}`));
  }
  assert.match(text, /prometheus/);
  await Deno.remove(dir, { recursive: true });
});
