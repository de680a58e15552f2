/**
 * The gcs-pubsub sink through a whole gateway, in its sandbox process: a
 * topic that is down (503, then refusing connections) while calls flow
 * loses no message, and a LiteLLM config.yaml with
 * `callbacks: ["gcs_bucket", "gcs_pubsub"]` and the variables LiteLLM's
 * code and docs name (`GCS_PUBSUB_PROJECT_ID`, `GCS_PUBSUB_TOPIC_ID`,
 * `GCS_BUCKET_NAME`, `GCS_PATH_SERVICE_ACCOUNT`) runs as written and
 * delivers to both. The stand-in for Google (`plugins/gcs/test_support.ts`)
 * verifies every JWT with the service account's public key, every token,
 * and every publish body against the published request shape.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { stringify } from "npm:yaml@2.9.1";
import { checkConfig, loadConfig } from "../core/mod.ts";
import { startGateway } from "./fakes/gateway.ts";
import { startUpstream } from "./fakes/upstream.ts";
import { assertEachOnce, countBy, sendThroughOutage, until } from "./fakes/outage.ts";
import { type GoogleFake, startGoogleFake } from "../plugins/gcs/test_support.ts";
import { PUBSUB_SCOPE } from "@sluice/gcs-pubsub";

const N = 400;

/** Messages per call id. */
const seen = (topic: GoogleFake) => countBy(topic.messages, (m) => String(m.attributes.call_id));

Deno.test("gcs-pubsub through the gateway: a topic that is down (503, then refusing connections) loses no message", async () => {
  const dataDir = await Deno.makeTempDir();
  const google = await startGoogleFake({ scope: PUBSUB_SCOPE }); // the token endpoint stays up
  let refused = 0;
  let pubsub = await startGoogleFake({
    trust: google,
    script: (kind) => {
      if (kind !== "publish") return undefined;
      refused++;
      return new Response("unavailable", { status: 503 });
    },
  });
  const port = Number(new URL(pubsub.url).port);
  const gw = await startGateway({
    server: { data_dir: dataDir },
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{
      use: "gcs-pubsub",
      config: {
        project_id: "sluice-test",
        topic_id: "llm-logs",
        endpoint_url: pubsub.url,
        service_account_json: google.keyJson,
        timeout_ms: 2000,
      },
      queue: { batch_size: 100, flush_interval_ms: 20 },
    }],
  });
  const ids = Array.from({ length: N }, (_, i) => `pubsub-loss-${i}`);
  try {
    await sendThroughOutage(gw.url, ids, {
      refused: () => until(() => refused > 0, 20_000, "a refused publish"),
      stop: () => pubsub.close(),
    });
    assert.equal(pubsub.messages.length, 0);
    pubsub = await startGoogleFake({ trust: google, port });
    await until(() => seen(pubsub).size >= N, 120_000, "a message for every call");
    assertEachOnce(seen(pubsub), ids, "message");
    assert.deepEqual(pubsub.refusals, [], "every body matched the publish request schema");
    assert.deepEqual(google.refusals, []);
    for (const message of pubsub.messages.slice(0, 20)) {
      const event = JSON.parse(message.data);
      assert.equal(message.attributes.request_id, event.request_id);
      assert.equal(message.attributes.status, "success");
      assert.equal(event.model_group, "mock-gpt");
    }
  } finally {
    await gw.close();
    await pubsub.close();
    await google.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("litellm docs: callbacks gcs_bucket and gcs_pubsub with LiteLLM's variables deliver to both, with no warning", async () => {
  const google = await startGoogleFake();
  const upstream = startUpstream();
  const dir = await Deno.makeTempDir();
  try {
    const keyFile = await google.writeKeyFile();
    const raw = {
      model_list: [{
        model_name: "gpt-4o",
        litellm_params: { model: "openai/gpt-4o", api_base: upstream.url, api_key: "sk-up-0002" },
      }],
      general_settings: { master_key: "sk-1234" },
      litellm_settings: { callbacks: ["gcs_bucket", "gcs_pubsub"] },
      environment_variables: {
        GCS_BUCKET_NAME: "litellm-logs",
        GCS_PATH_SERVICE_ACCOUNT: keyFile,
        GCS_PUBSUB_PROJECT_ID: "sluice-test",
        GCS_PUBSUB_TOPIC_ID: "litellm-spend",
      },
    };
    const check = await checkConfig(raw, { env: () => undefined, baseDir: dir });
    assert.deepEqual(check.problems, [], "no unsupported callback or setting");
    await Deno.writeTextFile(`${dir}/config.yaml`, stringify(raw));
    const config = await loadConfig(`${dir}/config.yaml`);
    assert.deepEqual(config.sinks.map((s) => s.use), ["gcs", "gcs-pubsub"]);
    const gw = await startGateway({
      ...config,
      server: { ...config.server, data_dir: `${dir}/data` },
      sinks: config.sinks.map((sink) => ({
        ...sink,
        // The endpoints are the stand-in's (a test cannot reach googleapis.com). Sandboxed (the
        // default): the key file named by GCS_PATH_SERVICE_ACCOUNT is the one file it may read.
        queue: { ...sink.queue, flush_interval_ms: 10 },
        config: { ...sink.config, endpoint_url: google.url },
      })),
    });
    const calls = ["what is the capital of France?", "and of Spain?"];
    try {
      const client = new OpenAI({ apiKey: "sk-1234", baseURL: `${gw.url}/v1`, maxRetries: 0 });
      for (const content of calls) {
        await client.chat.completions.create({
          model: "gpt-4o",
          messages: [{ role: "user", content }],
        });
      }
    } finally {
      await gw.close(); // flushes both sinks
    }
    assert.deepEqual(google.refusals, []);
    // One token per sink, each for its own scope.
    assert.deepEqual(google.grants.map((g) => g.claims?.scope).sort(), [
      "https://www.googleapis.com/auth/devstorage.read_write",
      PUBSUB_SCOPE,
    ]);
    assert.equal(google.objects.size, calls.length);
    assert.equal(google.messages.length, calls.length);
    const objects = [...google.objects.values()].map((o) => JSON.parse(o.body));
    for (const message of google.messages) {
      assert.equal(message.topic, "projects/sluice-test/topics/litellm-spend");
      const event = JSON.parse(message.data);
      assert.equal(event.model_group, "gpt-4o");
      assert.ok(objects.some((o) => o.request_id === event.request_id), "the same call in both");
      assert.ok(!message.data.includes("sk-up-0002") && !message.data.includes("sk-1234"));
    }
  } finally {
    await upstream.close();
    await google.close();
    await Deno.remove(dir, { recursive: true });
  }
});
