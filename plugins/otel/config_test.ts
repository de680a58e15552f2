import assert from "node:assert/strict";
import { Ajv } from "npm:ajv@8.17.1";
import addFormatsModule from "npm:ajv-formats@3.0.1";
import otelPlugin, {
  DEFAULT_TRACES_URL,
  displayUrl,
  LITELLM_PRESET_CALLBACKS,
  OTEL_PLUGIN_ENV,
  otelConfigSchema,
  type OtelSink,
  parseKeyValueList,
  parseOtelConfig,
  parseRetryAfter,
  PRESET_NAMES,
  PRESETS,
  resolveOtelConfig,
  tracesUrl,
} from "./mod.ts";
import { createTestContext, resolvePermissions } from "@sluice/core/testing";
import denoJson from "./deno.json" with { type: "json" };

const envOf = (vars: Record<string, string>) => (name: string) => vars[name];
const resolveAll = (config: Record<string, unknown>, vars: Record<string, string> = {}) =>
  resolveOtelConfig(parseOtelConfig(config), envOf(vars), "9.9.9");
/** The traces signal's settings, with the settings every signal shares. */
const resolve = (config: Record<string, unknown>, vars: Record<string, string> = {}) => {
  const { signals, ...shared } = resolveAll(config, vars);
  assert.ok(signals.traces, "traces are sent");
  return { ...signals.traces, ...shared };
};

Deno.test("OTEL_EXPORTER_OTLP_ENDPOINT gets /v1/traces appended; the traces endpoint is used as given", () => {
  assert.equal(resolve({}).url, DEFAULT_TRACES_URL);
  assert.equal(resolve({}).url, "http://localhost:4318/v1/traces");
  assert.equal(
    resolve({}, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }).url,
    "http://collector:4318/v1/traces",
  );
  assert.equal(
    resolve({}, { OTEL_EXPORTER_OTLP_ENDPOINT: "https://h.example.com/otlp/" }).url,
    "https://h.example.com/otlp/v1/traces",
  );
  // the generic variable always gets the signal path, as the specification says
  assert.equal(
    resolve({}, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318/v1/traces" }).url,
    "http://c:4318/v1/traces/v1/traces",
  );
  assert.equal(
    resolve({}, {
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://generic:4318",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://traces:4318/custom/path",
    }).url,
    "http://traces:4318/custom/path",
  );
  // LiteLLM's OTEL_ENDPOINT: a base or a full traces URL
  assert.equal(
    resolve({}, { OTEL_ENDPOINT: "http://0.0.0.0:4318" }).url,
    "http://0.0.0.0:4318/v1/traces",
  );
  assert.equal(
    resolve({}, { OTEL_ENDPOINT: "https://api.traceloop.com/v1/traces" }).url,
    "https://api.traceloop.com/v1/traces",
  );
  // config wins over the environment
  const fromConfig = resolve(
    { endpoint: "http://mine:4318" },
    { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://env:4318/v1/traces" },
  );
  assert.equal(fromConfig.url, "http://mine:4318/v1/traces");
  assert.equal(fromConfig.urlSource, "config.endpoint");
  assert.equal(resolve({ traces_endpoint: "http://x/in" }).url, "http://x/in");
});

Deno.test("OTEL_EXPORTER_OTLP_HEADERS are URL-decoded, and sent only to the endpoint the environment chose", () => {
  const vars = {
    OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318",
    OTEL_EXPORTER_OTLP_HEADERS: "Authorization=Basic%20abc%3D%3D, x-team = a%2Cb ,broken",
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-team=traces",
    OTEL_HEADERS: "x-litellm=1,x-colon: c",
  };
  const r = resolve({ headers: { "X-Extra": "e" } }, vars);
  assert.deepEqual(r.headers, {
    "x-litellm": "1",
    "x-colon": "c",
    authorization: "Basic abc==",
    "x-team": "traces",
    "x-extra": "e",
  });
  assert.deepEqual(r.warnings, [
    "OTEL_EXPORTER_OTLP_HEADERS: entries 3 are not key=value pairs; skipped",
  ]);
  assert.ok(!r.warnings.join().includes("abc"), "warnings never show values");
  // an endpoint from config does not receive credentials meant for the environment's collector
  const own = resolve({ endpoint: "http://mine:4318" }, vars);
  assert.deepEqual(own.headers, {});
  assert.deepEqual(parseKeyValueList("a=1,=2,b=x%3Dy").pairs, { a: "1", b: "x=y" });
});

Deno.test("protocol and exporter: config, OTEL_* and LiteLLM variables", () => {
  assert.equal(resolve({}).protocol, "http/protobuf");
  assert.equal(resolve({}, { OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" }).protocol, "http/json");
  assert.equal(
    resolve({}, {
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/protobuf",
    }).protocol,
    "http/protobuf",
  );
  assert.equal(
    resolve({ protocol: "http/json" }, { OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf" }).protocol,
    "http/json",
  );
  const grpc = resolve({}, { OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" });
  assert.equal(grpc.protocol, "grpc");
  assert.equal(grpc.url, "http://localhost:4317", "the OTel default gRPC address, no path");
  assert.throws(
    () => resolve({}, { OTEL_EXPORTER_OTLP_PROTOCOL: "thrift" }),
    /OTEL_EXPORTER_OTLP_PROTOCOL="thrift": expected grpc, http\/protobuf, http\/json/,
  );
  assert.equal(resolve({}, { OTEL_EXPORTER: "console" }).exporter, "console");
  assert.equal(resolve({}, { OTEL_TRACES_EXPORTER: "console" }).exporter, "console");
  assert.equal(resolve({}, { OTEL_EXPORTER: "otlp_http" }).exporter, "otlp");
  assert.equal(resolve({}, { OTEL_EXPORTER: "otlp_http" }).protocol, "http/protobuf");
  assert.equal(resolve({}, { OTEL_EXPORTER: "otlp_grpc" }).protocol, "grpc");
  assert.equal(resolve({ exporter: "otlp_grpc" }).protocol, "grpc");
  assert.equal(
    resolve({ exporter: "otlp_http" }, { OTEL_EXPORTER: "console" }).exporter,
    "otlp",
  );
  assert.throws(
    () => resolve({}, { OTEL_EXPORTER_OTLP_ENDPOINT: "collector" }),
    /OTEL_EXPORTER_OTLP_ENDPOINT must be an absolute http\(s\) URL/,
  );
  assert.equal(
    resolve({ exporter: "console" }, { OTEL_EXPORTER_OTLP_ENDPOINT: "collector" }).url,
    "",
    "the console exporter needs no endpoint",
  );
});

Deno.test("resource: OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME over it, config over both", () => {
  const vars = {
    OTEL_RESOURCE_ATTRIBUTES: "service.name=from-attrs,deployment.environment.name=prod,team=a%20b",
    OTEL_SERVICE_NAME: "from-service-name",
  };
  const env = resolve({}, vars).resource;
  assert.equal(env["service.name"], "from-service-name");
  assert.equal(env["deployment.environment.name"], "prod");
  assert.equal(env.team, "a b");
  assert.equal(env["service.version"], "9.9.9");
  assert.equal(env["telemetry.sdk.name"], "opentelemetry");
  assert.equal(resolve({}).resource["service.name"], "sluice");
  const own = resolve(
    { service_name: "gw", resource_attributes: { team: "c", shards: 3 } },
    vars,
  ).resource;
  assert.equal(own["service.name"], "gw");
  assert.equal(own.team, "c");
  assert.equal(own.shards, 3);
});

Deno.test("limits and timeout from config or OTEL_* variables", () => {
  const r = resolve({}, {
    OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: "64",
    OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: "4096",
    OTEL_EXPORTER_OTLP_TIMEOUT: "2500",
  });
  assert.equal(r.span.attributeCountLimit, 64);
  assert.equal(r.span.attributeValueLengthLimit, 4096);
  assert.equal(r.timeoutMs, 2500);
  const d = resolve({ timeout_ms: 100, attribute_count_limit: 32 }, {
    OTEL_EXPORTER_OTLP_TIMEOUT: "x",
  });
  assert.equal(d.timeoutMs, 100);
  assert.equal(d.span.attributeCountLimit, 32);
  assert.equal(resolve({}, { OTEL_EXPORTER_OTLP_TIMEOUT: "soon" }).warnings.length, 1);
  assert.equal(resolve({}).span.attributeCountLimit, 128);
  assert.equal(resolve({}).span.attributeValueLengthLimit, undefined);
});

Deno.test("presets fill endpoint and auth header from their variables", () => {
  const langfuse = resolve({ preset: "langfuse" }, {
    LANGFUSE_PUBLIC_KEY: "pk-lf-1",
    LANGFUSE_SECRET_KEY: "sk-lf-2",
    LANGFUSE_HOST: "https://langfuse.example.com/",
  });
  assert.equal(langfuse.url, "https://langfuse.example.com/api/public/otel/v1/traces");
  assert.equal(langfuse.headers.authorization, `Basic ${btoa("pk-lf-1:sk-lf-2")}`);
  assert.equal(langfuse.headers["x-langfuse-ingestion-version"], "4");
  assert.equal(
    resolve({ preset: "langfuse" }, { LANGFUSE_PUBLIC_KEY: "p", LANGFUSE_SECRET_KEY: "s" }).url,
    "https://cloud.langfuse.com/api/public/otel/v1/traces",
  );
  const cases: [string, Record<string, string>, string, Record<string, string>][] = [
    ["honeycomb", { HONEYCOMB_API_KEY: "hc" }, "https://api.honeycomb.io/v1/traces", {
      "x-honeycomb-team": "hc",
    }],
    ["traceloop", { TRACELOOP_API_KEY: "tl" }, "https://api.traceloop.com/v1/traces", {
      authorization: "Bearer tl",
    }],
    ["laminar", { LMNR_PROJECT_API_KEY: "lm" }, "https://api.lmnr.ai/v1/traces", {
      authorization: "Bearer lm",
    }],
    [
      "signoz",
      { SIGNOZ_INGESTION_KEY: "sz", SIGNOZ_REGION: "eu" },
      "https://ingest.eu.signoz.cloud/v1/traces",
      {
        "signoz-ingestion-key": "sz",
      },
    ],
    ["portkey", { PORTKEY_API_KEY: "pk" }, "https://api.portkey.ai/v1/otel/v1/traces", {
      "x-portkey-api-key": "pk",
    }],
  ];
  for (const [preset, vars, url, headers] of cases) {
    const r = resolve({ preset }, vars);
    assert.equal(r.url, url, preset);
    assert.deepEqual(r.headers, headers, preset);
    assert.equal(r.preset, preset);
  }
  assert.equal(
    resolve({ preset: "signoz" }, { SIGNOZ_ENDPOINT: "http://signoz:4318" }).url,
    "http://signoz:4318/v1/traces",
    "self-hosted SigNoz needs no key",
  );
  assert.deepEqual([...PRESET_NAMES].sort(), Object.keys(PRESETS).sort());
});

Deno.test("presets arize, langtrace and langsmith: documented endpoints, auth headers, LiteLLM's variables", () => {
  const arize = resolve({ preset: "arize" }, { ARIZE_SPACE_KEY: "space-1", ARIZE_API_KEY: "ak" });
  assert.equal(arize.url, "https://otlp.arize.com/v1/traces");
  assert.equal(arize.protocol, "http/protobuf");
  assert.deepEqual(arize.headers, { space_id: "space-1", api_key: "ak" });
  // ARIZE_SPACE_ID (Arize's current name) wins; LiteLLM's ARIZE_ENDPOINT is a gRPC address
  const grpc = resolve({ preset: "arize" }, {
    ARIZE_SPACE_ID: "space-2",
    ARIZE_SPACE_KEY: "space-1",
    ARIZE_API_KEY: "ak",
    ARIZE_ENDPOINT: "https://otlp.arize.com/v1",
  });
  assert.equal(grpc.protocol, "grpc");
  assert.equal(grpc.url, "https://otlp.arize.com");
  assert.equal(grpc.headers.space_id, "space-2");
  assert.equal(
    resolve({ preset: "arize" }, {
      ARIZE_SPACE_ID: "s",
      ARIZE_API_KEY: "k",
      ARIZE_HTTP_ENDPOINT: "http://127.0.0.1:6006/v1",
    }).url,
    "http://127.0.0.1:6006/v1/traces",
  );
  // config.protocol wins over the preset's transport
  assert.equal(
    resolve({ preset: "arize", protocol: "http/json" }, {
      ARIZE_SPACE_ID: "s",
      ARIZE_API_KEY: "k",
      ARIZE_ENDPOINT: "https://otlp.arize.com",
    }).protocol,
    "http/json",
  );
  assert.throws(
    () => resolve({ preset: "arize" }, { ARIZE_API_KEY: "secret-arize-key" }),
    (e: Error) =>
      /preset arize needs ARIZE_SPACE_ID and ARIZE_SPACE_KEY \(or config\.headers\["space_id"\]\)/
        .test(e.message) && !e.message.includes("secret-arize-key"),
  );

  const langtrace = resolve({ preset: "langtrace" }, { LANGTRACE_API_KEY: "lt" });
  assert.equal(langtrace.url, "https://app.langtrace.ai/api/trace");
  assert.deepEqual(langtrace.headers, { "x-api-key": "lt" });
  for (const host of ["http://127.0.0.1:3000", "http://127.0.0.1:3000/api/trace/"]) {
    assert.equal(
      resolve({ preset: "langtrace" }, { LANGTRACE_API_KEY: "lt", LANGTRACE_API_HOST: host }).url,
      "http://127.0.0.1:3000/api/trace",
      host,
    );
  }
  assert.throws(() => resolve({ preset: "langtrace" }), /needs LANGTRACE_API_KEY/);

  const langsmith = resolve({ preset: "langsmith" }, {
    LANGSMITH_API_KEY: "lsv2_pt_x",
    LANGSMITH_PROJECT: "gateway",
  });
  assert.equal(langsmith.url, "https://api.smith.langchain.com/otel/v1/traces");
  assert.deepEqual(langsmith.headers, { "x-api-key": "lsv2_pt_x", "langsmith-project": "gateway" });
  assert.equal(
    resolve({ preset: "langsmith" }, {
      LANGSMITH_API_KEY: "k",
      LANGSMITH_ENDPOINT: "https://eu.api.smith.langchain.com/",
    }).url,
    "https://eu.api.smith.langchain.com/otel/v1/traces",
  );
  assert.deepEqual(
    resolve({ preset: "langsmith" }, { LANGSMITH_API_KEY: "k" }).headers,
    { "x-api-key": "k" },
  );
  // traces only, as these backends take over OTLP
  assert.throws(
    () =>
      resolveAll({ preset: "langsmith", signals: ["traces", "metrics"] }, {
        LANGSMITH_API_KEY: "k",
      }),
    /preset langsmith accepts traces only/,
  );
  for (
    const name of [
      "ARIZE_SPACE_KEY",
      "ARIZE_HTTP_ENDPOINT",
      "LANGTRACE_API_HOST",
      "LANGSMITH_PROJECT",
    ]
  ) {
    assert.ok(OTEL_PLUGIN_ENV.includes(name), name);
  }
});

Deno.test("LiteLLM's arize and langtrace callbacks map to the presets; langsmith stays with the langsmith plugin", () => {
  const mapping = otelPlugin.litellm!;
  const input = (callback: string) => ({
    callback,
    name: callback,
    path: "litellm_settings.callbacks[0]",
    callbackSettings: {},
    litellmSettings: {},
    env: () => undefined,
  });
  assert.deepEqual(mapping.toSink!(input("arize")), { config: { preset: "arize" } });
  assert.deepEqual(mapping.toSink!(input("langtrace")), { config: { preset: "langtrace" } });
  assert.deepEqual(mapping.toSink!(input("otel")), {});
  assert.ok(!mapping.callbacks.includes("langsmith"));
  assert.deepEqual([...LITELLM_PRESET_CALLBACKS], ["arize", "langtrace"]);
});

Deno.test("a preset is a template: explicit config wins; missing credentials name the variables", () => {
  const r = resolve(
    {
      preset: "honeycomb",
      endpoint: "https://api.eu1.honeycomb.io",
      headers: { "x-honeycomb-team": "from-config" },
    },
    { HONEYCOMB_API_KEY: "from-env", OTEL_EXPORTER_OTLP_HEADERS: "x-leak=1" },
  );
  assert.equal(r.url, "https://api.eu1.honeycomb.io/v1/traces");
  assert.deepEqual(r.headers, { "x-honeycomb-team": "from-config" });
  assert.throws(
    () => resolve({ preset: "langfuse" }, { LANGFUSE_PUBLIC_KEY: "p" }),
    /preset langfuse needs LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY \(or config\.headers\["authorization"\]\)/,
  );
  assert.doesNotThrow(() => resolve({ preset: "langfuse", headers: { Authorization: "Basic x" } }));
  assert.throws(() => resolve({ preset: "honeycomb" }), /needs HONEYCOMB_API_KEY/);
  // the preset beats the generic environment endpoint
  assert.equal(
    resolve({ preset: "traceloop" }, {
      TRACELOOP_API_KEY: "k",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://elsewhere:4318",
    }).url,
    "https://api.traceloop.com/v1/traces",
  );
});

Deno.test("config validation: the JSON Schema (draft-07, for the gateway) and zod agree", () => {
  // as core's loader validates plugin config: Ajv (draft-07) with the standard formats
  const ajv = new Ajv({ allErrors: true, strict: false });
  (addFormatsModule as unknown as (ajv: Ajv) => Ajv)(ajv);
  const validate = ajv.compile(otelConfigSchema);
  const good = {
    preset: "langfuse",
    protocol: "http/json",
    endpoint: "https://h.example.com",
    headers: { a: "b" },
    timeout_ms: 5000,
    resource_attributes: { team: "a", n: 1, b: true },
    capture_messages: "event_only",
    system_instructions: "separate",
    attribute_count_limit: 64,
  };
  assert.ok(validate(good), ajv.errorsText(validate.errors));
  assert.doesNotThrow(() => parseOtelConfig(good));
  for (
    const bad of [
      { protocol: "grpc-web" },
      { signals: ["profiles"] },
      { compression: "br" },
      { preset: "datadog" },
      { timeout_ms: 0 },
      { unknown: 1 },
      { headers: { a: 1 } },
      { endpoint: "not a url" },
      { capture_messages: "spans" },
    ]
  ) {
    assert.ok(!validate(bad), `schema accepts ${JSON.stringify(bad)}`);
    assert.throws(() => parseOtelConfig(bad), /otel: invalid config: config/);
  }
  assert.throws(
    () => parseOtelConfig({ endpoint: "collector:4318" }),
    /config\.endpoint: must be an absolute/,
  );
  assert.doesNotThrow(() => structuredClone(otelConfigSchema));
});

Deno.test("the plugin definition: contract v1, version from deno.json, declared env and hosts", async () => {
  assert.equal(otelPlugin.apiVersion, 1);
  assert.equal(otelPlugin.name, "otel");
  assert.equal(otelPlugin.version, denoJson.version);
  assert.equal(otelPlugin.configSchema, otelConfigSchema);
  for (
    const name of [
      "OTEL_EXPORTER_OTLP_ENDPOINT",
      "OTEL_SERVICE_NAME",
      "OTEL_ENDPOINT",
      "LANGFUSE_SECRET_KEY",
    ]
  ) {
    assert.ok(resolvePermissions(otelPlugin, {}).env?.includes(name), name);
  }
  assert.deepEqual(resolvePermissions(otelPlugin, {}).env, [...OTEL_PLUGIN_ENV]);
  // The collector it resolves is the one host it asks for.
  assert.deepEqual(resolvePermissions(otelPlugin, {}).net, ["localhost:4318"]);
  assert.deepEqual(
    resolvePermissions(otelPlugin, { preset: "langfuse" }, {
      LANGFUSE_PUBLIC_KEY: "pk-lf-1",
      LANGFUSE_SECRET_KEY: "sk-lf-1",
    }).net,
    ["cloud.langfuse.com"],
  );
  assert.deepEqual(
    resolvePermissions(otelPlugin, {}, { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9/" }).net,
    ["127.0.0.1:9"],
  );
  // env is read through ctx.env, so only declared variables are visible
  const ctx = createTestContext({
    env: { OTEL_SERVICE_NAME: "svc", HOME: "/root" },
    permissions: otelPlugin.permissions,
  });
  const sink = await otelPlugin.create({ exporter: "console" }, ctx) as OtelSink;
  assert.equal(sink.settings.resource["service.name"], "svc");
  assert.ok(!ctx.logs.some((l) => l.level === "warn"), JSON.stringify(ctx.logs));
  assert.throws(
    () => otelPlugin.create({ protocol: "thrift" } as never, ctx),
    /otel: invalid config/,
  );
});

Deno.test("helpers: tracesUrl, displayUrl, parseRetryAfter", () => {
  assert.equal(tracesUrl("http://c:4318"), "http://c:4318/v1/traces");
  assert.equal(
    tracesUrl("http://c:4318/v1/traces", { keepTracesPath: true }),
    "http://c:4318/v1/traces",
  );
  assert.equal(
    displayUrl("https://u:p@h.example.com/v1/traces?k=1"),
    "https://h.example.com/v1/traces",
  );
  assert.equal(displayUrl("nope"), "<invalid url>");
  const now = Date.UTC(2025, 9, 21, 7, 28, 0);
  assert.equal(parseRetryAfter("2", now), 2000);
  assert.equal(parseRetryAfter("Tue, 21 Oct 2025 07:28:30 GMT", now), 30_000);
  assert.equal(parseRetryAfter("Tue, 21 Oct 2025 07:27:00 GMT", now), 0);
  assert.equal(parseRetryAfter(null, now), undefined);
  assert.equal(parseRetryAfter("-1", now), undefined);
  assert.equal(parseRetryAfter("soon", now), undefined);
});

Deno.test("capture_messages: content that no exported signal carries, and an unknown variable value, are warned about", () => {
  const env = (values: Record<string, string>) => (name: string) => values[name];
  const endpoint = "http://127.0.0.1:4318";
  const logsOnly = resolveOtelConfig(
    parseOtelConfig({ endpoint, signals: ["logs"], capture_messages: "span_only" }),
    env({}),
  );
  assert.deepEqual(logsOnly.content, { spans: true, logs: false });
  assert.equal(logsOnly.span.captureMessages, true, "the mapping still reads the content");
  assert.ok(
    logsOnly.warnings.some((w) =>
      w.startsWith("capture_messages puts message content on spans only")
    ),
    logsOnly.warnings.join("; "),
  );
  const tracesOnly = resolveOtelConfig(
    parseOtelConfig({ endpoint, signals: ["traces"] }),
    env({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: "event_only" }),
  );
  assert.ok(
    tracesOnly.warnings.some((w) =>
      w.startsWith(
        "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT puts message content on log records only",
      )
    ),
  );
  const unknown = resolveOtelConfig(
    parseOtelConfig({ endpoint }),
    env({ OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: "sometimes" }),
  );
  assert.deepEqual(unknown.content, { spans: true, logs: true });
  assert.ok(unknown.warnings.some((w) => w.includes('"sometimes" is not true, false or one of')));
  const none = resolveOtelConfig(parseOtelConfig({ endpoint, capture_messages: false }), env({}));
  assert.deepEqual(none.content, { spans: false, logs: false });
  assert.equal(none.span.captureMessages, false);
});
