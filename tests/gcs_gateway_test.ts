/**
 * The gcs sink through a whole gateway, in its sandbox process: a bucket
 * that is down (503, then refusing connections) while calls flow loses no
 * object, and a LiteLLM config.yaml with `callbacks: ["gcs_bucket"]` and
 * the variables LiteLLM's docs name (`GCS_BUCKET_NAME`,
 * `GCS_PATH_SERVICE_ACCOUNT`) runs as written. The stand-in for Google
 * (`plugins/gcs/test_support.ts`) verifies every JWT with the service
 * account's public key and every upload's token.
 *
 * The key file is read when the sink starts, in the sandbox: the plugin
 * asks to read that one file (`permissions.read`), and an entry whose own
 * `permissions:` leave it out is refused at start, naming it.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { stringify } from "npm:yaml@2.9.1";
import { checkConfig, loadConfig } from "../core/mod.ts";
import { startGateway } from "./fakes/gateway.ts";
import { startUpstream } from "./fakes/upstream.ts";
import { assertEachOnce, countBy, sendThroughOutage, until } from "./fakes/outage.ts";
import { type GoogleFake, startGoogleFake } from "../plugins/gcs/test_support.ts";
import { GCS_ENV_VARS, GCS_SCOPE } from "@sluice/gcs";

const N = 300;

/** Call ids of the objects stored, counted. */
const seen = (bucket: GoogleFake) =>
  countBy([...bucket.objects.values()], (o) => String(JSON.parse(o.body).call_id));

Deno.test("gcs through the gateway: a bucket that is down (503, then refusing connections) loses no object", async () => {
  const dataDir = await Deno.makeTempDir();
  const google = await startGoogleFake({ scope: GCS_SCOPE }); // the token endpoint stays up
  let refused = 0;
  let storage = await startGoogleFake({
    trust: google,
    script: (kind) => {
      if (kind !== "upload") return undefined;
      refused++;
      return new Response("backend restarting", { status: 503 });
    },
  });
  const port = new URL(storage.url).port;
  const gw = await startGateway({
    server: { data_dir: dataDir },
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{
      use: "gcs",
      config: {
        bucket: "llm-logs",
        endpoint_url: storage.url,
        service_account_json: google.keyJson,
        path: "gateway",
        timeout_ms: 2000,
      },
      queue: { batch_size: 50, flush_interval_ms: 20 },
    }],
  });
  const ids = Array.from({ length: N }, (_, i) => `gcs-loss-${i}`);
  try {
    await sendThroughOutage(gw.url, ids, {
      refused: () => until(() => refused > 0, 20_000, "a refused upload"),
      stop: () => storage.close(),
    });
    assert.equal(storage.objects.size, 0);
    storage = await startGoogleFake({ trust: google, port: Number(port) });
    await until(() => seen(storage).size >= N, 120_000, "an object for every call");
    assertEachOnce(seen(storage), ids, "object");
    assert.deepEqual(storage.refusals, []);
    assert.deepEqual(google.refusals, []);
    for (const object of storage.objects.values()) {
      assert.match(object.name, /^gateway\/\d{4}-\d\d-\d\d\/\d\d-\d\d-\d\d-\d{6}_[\w-]+\.json$/);
      assert.ok(object.token && google.grants.some((g) => g.token === object.token));
    }
  } finally {
    await gw.close();
    await storage.close();
    await google.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("litellm docs: callbacks gcs_bucket with GCS_BUCKET_NAME / GCS_PATH_SERVICE_ACCOUNT writes one object per call", async () => {
  const google = await startGoogleFake({ scope: GCS_SCOPE });
  const upstream = startUpstream();
  const dir = await Deno.makeTempDir();
  try {
    const keyFile = await google.writeKeyFile();
    const raw = {
      model_list: [{
        model_name: "gpt-4o",
        litellm_params: { model: "openai/gpt-4o", api_base: upstream.url, api_key: "sk-up-0001" },
      }],
      general_settings: { master_key: "sk-1234" },
      litellm_settings: { callbacks: ["gcs_bucket"] },
      environment_variables: {
        GCS_BUCKET_NAME: "litellm-logs",
        GCS_PATH_SERVICE_ACCOUNT: keyFile,
        GCS_FLUSH_INTERVAL: "1",
      },
    };
    // No "not supported" warning: the callback and its variables are the gcs plugin's.
    const check = await checkConfig(raw, { env: () => undefined, baseDir: dir });
    assert.deepEqual(check.problems, []);
    // The key file's token_uri is the stand-in (loopback), as a real one names Google's.
    await Deno.writeTextFile(`${dir}/config.yaml`, stringify(raw));
    const config = await loadConfig(`${dir}/config.yaml`);
    const [entry] = config.sinks;
    assert.equal(entry.use, "gcs");
    const server = { ...config.server, data_dir: `${dir}/data` };
    // The endpoint is the stand-in's (a test cannot reach storage.googleapis.com).
    const sink = { ...entry, config: { ...entry.config, endpoint_url: google.url } };
    // An entry granting only the hosts is refused at start, naming the key file it asks to read.
    await assert.rejects(
      startGateway({
        ...config,
        server,
        sinks: [{
          ...sink,
          permissions: {
            net: [new URL(google.url).host, "oauth2.googleapis.com"],
            env: [...GCS_ENV_VARS],
          },
        }],
      }),
      (error: Error) => {
        assert.match(error.message, /asks for more than it is granted/);
        assert.ok(
          error.message.includes(`not granted: net: none; env: none; read: ${keyFile}`),
          error.message,
        );
        return true;
      },
    );
    // Sandboxed (the default for a built-in): the key file is the one file the plugin may read.
    const gw = await startGateway({ ...config, server, sinks: [sink] });
    try {
      const client = new OpenAI({ apiKey: "sk-1234", baseURL: `${gw.url}/v1`, maxRetries: 0 });
      for (const content of ["what is the capital of France?", "and of Spain?"]) {
        await client.chat.completions.create({
          model: "gpt-4o",
          messages: [{ role: "user", content }],
        });
      }
    } finally {
      await gw.close(); // flushes the sink
    }
    assert.deepEqual(google.refusals, []);
    assert.equal(google.objects.size, 2);
    for (const object of google.objects.values()) {
      assert.equal(object.bucket, "litellm-logs");
      const event = JSON.parse(object.body);
      assert.equal(event.model_group, "gpt-4o");
      assert.equal(event.status, "success");
      assert.ok(!object.body.includes("sk-up-0001") && !object.body.includes("sk-1234"));
    }
  } finally {
    await upstream.close();
    await google.close();
    await Deno.remove(dir, { recursive: true });
  }
});
