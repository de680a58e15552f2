/**
 * LiteLLM configs in the shape LiteLLM's logging docs give them, with the
 * environment variables those docs name, served by Sluice against loopback
 * receivers that decode what each sink really sends (validated against the
 * published schemas where one exists).
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { stringify } from "npm:yaml@2.9.1";
import { Ajv2020 } from "npm:ajv@8.17.1/dist/2020.js";
import AjvDraft7 from "npm:ajv@8.17.1";
import { loadConfig } from "../core/mod.ts";
import { startGateway } from "./fakes/gateway.ts";
import { startUpstream } from "./fakes/upstream.ts";
import { getObject, listKeys, S3RVER_KEY_ID, sdkClient, startS3rver } from "./fakes/s3rver.ts";
import { startSentryReceiver } from "../plugins/sentry/test_support.ts";
import { startOtlpReceiver, valueOf } from "../plugins/otel/testdata/otlp_receiver.ts";
import { assertOtlpJson } from "../plugins/otel/testdata/schemas.ts";
import {
  startLangfuseReceiver,
  TEST_PUBLIC_KEY,
  TEST_SECRET_KEY,
} from "../plugins/langfuse/test_support.ts";
import { PutObjectCommand } from "npm:@aws-sdk/client-s3@3.1175.0";
import { createHash } from "node:crypto";
import openmeterSchema from "./fixtures/schemas/openmeter-event.schema.json" with { type: "json" };
import sentryEventSchema from "./fixtures/schemas/sentry-event.schema.json" with { type: "json" };

const UPSTREAM_KEY = "sk-upstream-litellm-docs-0000";
const MASTER = "sk-1234-litellm-master";

/**
 * Writes `doc` as config.yaml, loads it as the CLI would, serves it with the
 * upstream, runs `calls`, closes the gateway (flushing sinks) and restores
 * the environment variables the config set.
 */
async function runLiteLLM(
  doc: Record<string, unknown>,
  calls: (client: OpenAI) => Promise<void>,
  upstreamStatus = 200,
): Promise<void> {
  const upstream = startUpstream(
    upstreamStatus === 200 ? undefined : () =>
      new Response(
        JSON.stringify({ error: { message: "upstream broke", type: "server_error" } }),
        {
          status: upstreamStatus,
          headers: { "content-type": "application/json" },
        },
      ),
  );
  const dir = await Deno.makeTempDir();
  const environment = (doc.environment_variables ?? {}) as Record<string, string>;
  const before = Object.fromEntries(Object.keys(environment).map((k) => [k, Deno.env.get(k)]));
  try {
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      stringify({
        model_list: [{
          model_name: "gpt-4o",
          litellm_params: {
            model: "openai/gpt-4o",
            api_base: upstream.url,
            api_key: UPSTREAM_KEY,
            max_retries: 0,
          },
        }],
        general_settings: { master_key: MASTER },
        ...doc,
      }),
    );
    const config = await loadConfig(`${dir}/config.yaml`);
    const gw = await startGateway({
      ...config,
      server: { ...config.server, data_dir: `${dir}/data` },
      sinks: config.sinks.map((s) => ({ ...s, queue: { ...s.queue, flush_interval_ms: 10 } })),
    });
    try {
      await calls(new OpenAI({ apiKey: MASTER, baseURL: `${gw.url}/v1`, maxRetries: 0 }));
    } finally {
      await gw.close();
    }
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) Deno.env.delete(k);
      else Deno.env.set(k, v);
    }
    await upstream.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const ask = (client: OpenAI, content = "what is the capital of France?") =>
  client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content }] });

function noSecrets(text: string): void {
  for (const s of [UPSTREAM_KEY, MASTER]) assert.ok(!text.includes(s), `${s} leaked`);
}

Deno.test("litellm docs: failure_callback sentry with SENTRY_DSN sends failures only, as valid Sentry events", async () => {
  const sentry = startSentryReceiver();
  const validate = new AjvDraft7.default({ strict: false, allErrors: true }).compile(
    sentryEventSchema,
  );
  try {
    await runLiteLLM(
      {
        environment_variables: { SENTRY_DSN: sentry.dsn, SENTRY_ENVIRONMENT: "staging" },
        litellm_settings: { failure_callback: ["sentry"] },
      },
      async (client) => {
        await assert.rejects(ask(client), /502|upstream/i);
      },
      500,
    );
    assert.equal(sentry.accepted.length, 1);
    const event = sentry.accepted[0].event;
    assert.ok(validate(event), JSON.stringify(validate.errors));
    assert.equal(event.environment, "staging");
    assert.equal((event.tags as Record<string, string>).model, "gpt-4o");
    noSecrets(sentry.accepted[0].raw);
  } finally {
    await sentry.close();
  }
});

Deno.test("litellm docs: s3_v2 with s3_callback_params writes one object per call under the path", async () => {
  const s3 = await startS3rver(["litellm-logs"]);
  try {
    await runLiteLLM(
      {
        environment_variables: {
          AWS_ACCESS_KEY_ID: S3RVER_KEY_ID,
          AWS_SECRET_ACCESS_KEY: "S3RVER",
          AWS_REGION_NAME: "us-west-2",
        },
        litellm_settings: {
          callbacks: ["s3_v2"],
          s3_callback_params: {
            s3_bucket_name: "litellm-logs",
            s3_region_name: "us-west-2",
            s3_aws_access_key_id: "os.environ/AWS_ACCESS_KEY_ID",
            s3_aws_secret_access_key: "os.environ/AWS_SECRET_ACCESS_KEY",
            s3_endpoint_url: s3.endpoint,
            s3_path: "my-test-path",
            s3_flush_interval: 1,
            s3_batch_size: 10,
          },
        },
      },
      async (client) => {
        await ask(client);
        await ask(client);
      },
    );
    const client = sdkClient(s3.endpoint);
    const keys = await listKeys(client, "litellm-logs");
    assert.equal(keys.length, 2);
    for (const key of keys) {
      assert.match(key, /^my-test-path\/\d{4}-\d{2}-\d{2}\/\d{2}-\d{2}-\d{2}-\d{6}_[\w-]+\.json$/);
      const { text: body } = await getObject(client, "litellm-logs", key);
      const event = JSON.parse(body);
      assert.equal(event.model_group, "gpt-4o");
      assert.equal(event.status, "success");
      noSecrets(body);
    }
  } finally {
    await s3.close();
  }
});

Deno.test("litellm docs: openmeter with OPENMETER_API_ENDPOINT / OPENMETER_API_KEY sends CloudEvents of type litellm_tokens", async () => {
  const bodies: { type: string | null; auth: string | null; body: unknown }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    bodies.push({
      type: req.headers.get("content-type"),
      auth: req.headers.get("authorization"),
      body: await req.json(),
    });
    return new Response(null, { status: 204 });
  });
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addSchema(openmeterSchema, "om");
  try {
    await runLiteLLM(
      {
        environment_variables: {
          OPENMETER_API_ENDPOINT: `http://127.0.0.1:${server.addr.port}`,
          OPENMETER_API_KEY: "om-key-litellm-docs-1",
        },
        litellm_settings: { callbacks: ["openmeter"] },
      },
      async (client) => {
        await client.chat.completions.create({
          model: "gpt-4o",
          messages: [{ role: "user", content: "bill me" }],
          user: "customer-42",
        });
      },
    );
    assert.equal(bodies.length, 1);
    const [sent] = bodies;
    assert.equal(sent.auth, "Bearer om-key-litellm-docs-1");
    const event = (sent.type === "application/cloudevents-batch+json"
      ? (sent.body as unknown[])[0]
      : sent.body) as Record<string, unknown>;
    const validate = ajv.getSchema(
      sent.type === "application/cloudevents-batch+json"
        ? "om#/$defs/EventBatch"
        : "om#/$defs/Event",
    )!;
    assert.ok(validate(sent.body), JSON.stringify(validate.errors));
    assert.equal(event.type, "litellm_tokens");
    assert.equal(event.subject, "customer-42", "LiteLLM trusts the request's user by default");
    noSecrets(JSON.stringify(sent.body));
  } finally {
    await server.shutdown();
  }
});

Deno.test("litellm docs: galileo with GALILEO_BASE_URL / GALILEO_PROJECT_ID / GALILEO_API_KEY sends LLM spans", async () => {
  const requests: { path: string; key: string | null; body: Record<string, unknown> }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    requests.push({
      path: new URL(req.url).pathname,
      key: req.headers.get("galileo-api-key"),
      body: await req.json(),
    });
    return Response.json({ ok: true });
  });
  try {
    await runLiteLLM(
      {
        environment_variables: {
          GALILEO_BASE_URL: `http://127.0.0.1:${server.addr.port}`,
          GALILEO_PROJECT_ID: "6f1c2d4e-0000-4000-8000-000000000001",
          GALILEO_API_KEY: "galileo-key-litellm-docs",
        },
        litellm_settings: { success_callback: ["galileo"] },
      },
      async (client) => {
        await ask(client, "tell me about galileo");
      },
    );
    assert.equal(requests.length, 1);
    const [r] = requests;
    assert.match(r.path, /^\/v2\/projects\/6f1c2d4e-0000-4000-8000-000000000001\/(traces|spans)$/);
    assert.equal(r.key, "galileo-key-litellm-docs");
    const text = JSON.stringify(r.body);
    assert.match(text, /tell me about galileo/);
    assert.match(text, /"gpt-4o"/);
    noSecrets(text);
  } finally {
    await server.shutdown();
  }
});

Deno.test("litellm docs: otel with OTEL_EXPORTER / OTEL_ENDPOINT / OTEL_HEADERS; callback_settings.otel.message_logging: false", async () => {
  const collector = startOtlpReceiver();
  try {
    await runLiteLLM(
      {
        environment_variables: {
          OTEL_EXPORTER: "otlp_http",
          OTEL_ENDPOINT: collector.tracesUrl,
          OTEL_HEADERS: "x-honeycomb-team=collector-key-litellm",
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
        },
        litellm_settings: { callbacks: ["otel"] },
        callback_settings: { otel: { message_logging: false } },
      },
      async (client) => {
        await ask(client, "a prompt that must not be exported");
      },
    );
    assert.equal(collector.accepted.length, 1);
    const [exported] = collector.accepted;
    assert.equal(exported.headers.get("x-honeycomb-team"), "collector-key-litellm");
    assertOtlpJson(exported.rawJson);
    const [{ span, attributes }] = collector.spans();
    assert.equal(span.name, "chat gpt-4o");
    assert.equal(valueOf(attributes["gen_ai.request.model"]), "gpt-4o");
    assert.ok(Number(valueOf(attributes["gen_ai.usage.input_tokens"])) > 0);
    assert.equal(attributes["gen_ai.input.messages"], undefined, "message_logging: false");
    const text = new TextDecoder().decode(exported.body);
    assert.ok(!text.includes("must not be exported"));
    noSecrets(text);
  } finally {
    await collector.close();
  }
});

Deno.test("litellm docs: langfuse with LANGFUSE_PUBLIC_KEY / SECRET_KEY / HOST goes over OTLP, default tags and turn_off_message_logging honoured", async () => {
  const langfuse = startLangfuseReceiver();
  try {
    await runLiteLLM(
      {
        environment_variables: {
          LANGFUSE_PUBLIC_KEY: TEST_PUBLIC_KEY,
          LANGFUSE_SECRET_KEY: TEST_SECRET_KEY,
          LANGFUSE_HOST: langfuse.host,
        },
        litellm_settings: {
          success_callback: ["langfuse"],
          langfuse_default_tags: ["user_api_key_alias"],
          turn_off_message_logging: true,
        },
      },
      async (client) => {
        await client.chat.completions.create({
          model: "gpt-4o",
          messages: [{ role: "user", content: "a private prompt for langfuse" }],
          ...({ metadata: { trace_name: "checkout", session_id: "sess-7" } } as object),
        });
      },
    );
    assert.deepEqual(langfuse.problems(), []);
    assert.equal(langfuse.unauthorized.length, 0);
    assert.ok(langfuse.accepted.every((r) => r.kind === "otel"));
    const [span] = langfuse.spans();
    assert.ok(span, "one span arrived");
    assert.equal(span.attributes["langfuse.trace.name"], "checkout");
    assert.equal(span.attributes["langfuse.observation.type"], "generation");
    assert.ok(
      (span.attributes["langfuse.trace.tags"] as string[]).includes("user_api_key_alias:master"),
      JSON.stringify(span.attributes["langfuse.trace.tags"]),
    );
    const wire = langfuse.accepted.map((r) => new TextDecoder().decode(r.body)).join("\n");
    assert.ok(!wire.includes("a private prompt for langfuse"), "turn_off_message_logging");
    noSecrets(wire);
  } finally {
    await langfuse.close();
  }
});

Deno.test("litellm: a bucket callback loads a Sluice plugin from s3:// with the pin from SLUICE_PLUGIN_PINS", async () => {
  const s3 = await startS3rver(["plugins"]);
  const batches: { instance: string; events: Record<string, unknown>[] }[] = [];
  const receiver = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const body = await req.json();
    if (req.headers.get("x-op") === "log") batches.push(body);
    return new Response("ok");
  });
  const code = await Deno.readFile(new URL("./fixtures/plugins/recorder.js", import.meta.url));
  const client = sdkClient(s3.endpoint);
  await client.send(
    new PutObjectCommand({ Bucket: "plugins", Key: "sinks/recorder.js", Body: code }),
  );
  client.destroy();
  const callback = "s3://plugins/sinks/recorder.js";
  try {
    await runLiteLLM(
      {
        environment_variables: {
          AWS_ACCESS_KEY_ID: S3RVER_KEY_ID,
          AWS_SECRET_ACCESS_KEY: "S3RVER",
          AWS_ENDPOINT_URL_S3: s3.endpoint,
          SLUICE_PLUGIN_PINS: `${callback}=${createHash("sha256").update(code).digest("hex")}`,
        },
        litellm_settings: { success_callback: [callback] },
        callback_settings: {
          [callback]: { url: `http://127.0.0.1:${receiver.addr.port}/in`, message_logging: false },
        },
      },
      async (client) => {
        await ask(client, "routed to a bucket plugin");
      },
    );
    assert.equal(batches.length, 1);
    assert.equal(batches[0].instance, "recorder");
    const [event] = batches[0].events;
    assert.equal(event.model_group, "gpt-4o");
    assert.equal(event.messages, "[REDACTED]", "message_logging: false applies to it too");
    noSecrets(JSON.stringify(batches));
  } finally {
    await receiver.shutdown();
    await s3.close();
  }
});
