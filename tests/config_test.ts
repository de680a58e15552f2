/**
 * Config loading: defaults, environment references, errors that name the key
 * path, the bad value and what was expected, "did you mean", line numbers.
 */
import assert from "node:assert/strict";
import {
  checkConfig,
  checkConfigFile,
  ConfigError,
  configJsonSchema,
  loadConfig,
  parseConfig,
} from "../core/mod.ts";
import { configBaseDir, configScrubber, configSecrets } from "../core/config/load.ts";

const messages = async (input: unknown, env: Record<string, string> = {}) =>
  (await checkConfig(input, { env: (n) => env[n] })).problems.map((p) =>
    `${p.severity} ${p.path}: ${p.message}`
  );

Deno.test("defaults fill the whole shape", () => {
  const config = parseConfig({ models: [{ name: "m", provider: "mock" }] });
  assert.equal(config.server.host, "127.0.0.1");
  assert.equal(config.server.port, 4000);
  assert.equal(config.server.max_body_bytes, 33_554_432);
  assert.equal(config.server.data_dir, "./.sluice");
  assert.equal(config.models[0].timeout_s, 600);
  assert.equal(config.models[0].max_retries, 2);
  assert.equal(config.models[0].forward_metadata, false);
  assert.equal(config.redaction.messages, "mask");
  assert.equal(config.redaction.detectors, "all");
  assert.equal(config.redaction.strip_base64, true);
  assert.equal(config.controls.allow_dynamic_callback_disabling, true);
  assert.equal(config.controls.global_disable_no_log_param, false);
});

Deno.test("os.environ/NAME and ${NAME} resolve; unset variables are errors at their path", async () => {
  const env = { KEY: "sk-from-env-1", PORT: "4100", HOST_PART: "example.internal" };
  const { config, problems } = await checkConfig({
    server: { port: "os.environ/PORT" },
    models: [{
      name: "m",
      provider: "openai",
      api_key: "os.environ/KEY",
      api_base: "https://${HOST_PART}/v1",
    }],
  }, { env: (n) => env[n as keyof typeof env] });
  assert.deepEqual(problems, []);
  assert.equal(
    config!.server.port,
    4100,
    "a numeric env value becomes a number where one is expected",
  );
  assert.equal(config!.models[0].api_key, "sk-from-env-1");
  assert.equal(config!.models[0].api_base, "https://example.internal/v1");

  assert.deepEqual(
    await messages({ models: [{ name: "m", provider: "openai", api_key: "os.environ/NOPE" }] }),
    [
      "error models[0].api_key: environment variable NOPE is not set",
    ],
  );
});

Deno.test("errors name the key path, the value's type and what was expected", async () => {
  assert.deepEqual(
    (await messages({
      server: { port: "eighty", hots: "0.0.0.0" },
      models: [{ name: "m", provider: "opnai" }, { provider: "mock" }],
      sinks: [{ use: "jsonl", on: ["sucess"] }],
      redaction: { detectors: ["EMAIL", "PHONEY"] },
    })).concat(await messages({ redaction: { detectors: 7 } })),
    [
      'error server.port: expected number, got string "eighty"',
      'error server.hots: unknown key "hots"; did you mean "host"? (expected one of: host, port, otlp_grpc_port, master_key, max_body_bytes, max_json_depth, body_timeout_ms, metrics_key, data_dir, shutdown_timeout_ms, litellm_headers, workers)',
      'error models[0].provider: expected one of "openai" | "azure" | "anthropic" | "mock", got string "opnai"; did you mean "openai"?',
      "error models[1].name: is required (expected string)",
      'error redaction.detectors[1]: expected one of "EMAIL" | "PHONE" | "CREDIT_CARD" | "IBAN" | "US_SSN" | "IPV4" | "IPV6" | "SECRET", got string "PHONEY"; did you mean "PHONE"?',
      'error sinks[0].on[0]: expected one of "success" | "failure" | "gateway_error", got string "sucess"; did you mean "success"?',
      'error redaction.detectors: expected "all" | "none" or array, got number 7',
    ],
  );
});

Deno.test("unknown top-level keys and cross-references get suggestions", async () => {
  assert.deepEqual(await messages({ modles: [] }), [
    'error modles: unknown key "modles"; did you mean "models"? (expected one of: server, models, teams, keys, redaction, sinks, controls, log, ui, environment)',
  ]);
  assert.deepEqual(
    await messages({
      models: [{ name: "gpt", provider: "mock" }],
      teams: [{ name: "blue", sinks: ["jsnol"] }],
      keys: [{ key: "k-123456", team: "bleu", models: ["gtp"] }],
      sinks: [{ use: "jsonl" }],
    }),
    [
      'error teams[0].sinks[0]: unknown sink "jsnol"; did you mean "jsonl"? (defined: jsonl)',
      'error keys[0].team: unknown team "bleu"; did you mean "blue"? (defined: blue)',
      'warning keys[0].models[0]: no model named "gtp"; did you mean "gpt"?',
    ],
  );
});

Deno.test("a YAML file: problems carry line numbers; loadConfig throws ConfigError with all of them", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/gateway.yaml`;
  await Deno.writeTextFile(
    path,
    [
      "server:",
      "  port: 4000",
      "models:",
      "  - name: gpt",
      "    provider: mock",
      "    timeout: 30",
      "sinks:",
      "  - use: jsonl",
      "    queue: { batch_size: -1 }",
    ].join("\n"),
  );
  try {
    const { problems } = await checkConfigFile(path);
    assert.deepEqual(problems.map((p) => [p.path, p.line]), [
      ["models[0].timeout", 6],
      ["sinks[0].queue.batch_size", 9],
    ]);
    assert.match(problems[0].message, /did you mean "timeout_s"/);
    assert.match(problems[1].message, /Too small: expected number to be >0, got number -1/);
    await assert.rejects(loadConfig(path), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.code, "invalid_config");
      assert.match(e.message, /models\[0\]\.timeout \(line 6\)/);
      assert.match(e.message, /sinks\[0\]\.queue\.batch_size \(line 9\)/);
      return true;
    });
    await Deno.writeTextFile(path, "models: [\n  - broken");
    const yamlError = await checkConfigFile(path);
    assert.equal(yamlError.problems[0].path, "(yaml)");
    const missing = await checkConfigFile(`${dir}/nope.yaml`);
    assert.match(missing.problems[0].message, /file not found/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the JSON Schema covers the whole native shape", () => {
  const schema = configJsonSchema() as { properties: Record<string, { properties?: object }> };
  assert.deepEqual(Object.keys(schema.properties), [
    "server",
    "models",
    "teams",
    "keys",
    "redaction",
    "sinks",
    "controls",
    "log",
    "ui",
    "environment",
  ]);
  assert.ok("master_key" in schema.properties.server.properties!);
});

Deno.test("a copy of a config keeps its secrets and base directory (#15 item 8)", () => {
  // A value from os.environ/ under a key that does not look secret: only provenance marks it.
  const hook = "https://hooks.example.com/in?route=tok9-provenance-only";
  const config = parseConfig(
    { sinks: [{ use: "webhook", config: { url: "os.environ/HOOK_URL" } }] },
    { env: (name) => (name === "HOOK_URL" ? hook : undefined), baseDir: "/srv/sluice" },
  );
  assert.ok(configSecrets(config).has(hook));
  const copies = [
    structuredClone(config),
    { ...config, server: { ...config.server, port: 0 } },
    JSON.parse(JSON.stringify(config)),
  ];
  for (const copy of copies) {
    assert.ok(configSecrets(copy).has(hook));
    assert.equal(configBaseDir(copy), "/srv/sluice");
    assert.equal(configScrubber(copy).text(`posting to ${hook}`), "posting to [SECRET]");
    // Validating a copy again keeps what it carries (and accepts the field).
    const again = parseConfig(copy);
    assert.ok(configSecrets(again).has(hook));
    assert.equal(configBaseDir(again), "/srv/sluice");
  }
  // Where the config was loaded from wins over what a copy says.
  assert.equal(configBaseDir(parseConfig(copies[0], { baseDir: "/elsewhere" })), "/elsewhere");
});
