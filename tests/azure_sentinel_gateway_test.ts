/**
 * The azure-sentinel sink through a whole gateway, in its sandbox: an
 * ingestion endpoint that is down (503, then refusing connections) while
 * calls flow loses no record, and a LiteLLM config.yaml with
 * `callbacks: ["azure_sentinel"]` and the variables LiteLLM's docs name
 * runs as written. The stand-ins check Entra ID's client credentials
 * request and, on the ingestion side, the bearer token, path, api-version,
 * size and (for the table format) every body against the schema in
 * `tests/fixtures/schemas/azure-sentinel-table.schema.json`.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { stringify } from "npm:yaml@2.9.1";
import { checkConfig, loadConfig } from "../core/mod.ts";
import { startGateway } from "./fakes/gateway.ts";
import { startUpstream } from "./fakes/upstream.ts";
import { assertEachOnce, countBy, sendThroughOutage, until } from "./fakes/outage.ts";
import { startEntraFake } from "../plugins/azure/test_support.ts";
import {
  type IngestionFake,
  startIngestionFake,
  TEST_DCR,
  TEST_STREAM,
} from "../plugins/azure-sentinel/test_support.ts";

const N = 300;
const SCOPE = "https://monitor.azure.com/.default";

/** Call ids of the records accepted, counted. */
const seen = (api: IngestionFake) => countBy(api.records, (r) => String(r.CallId ?? r.call_id));

Deno.test("azure-sentinel through the gateway: an ingestion endpoint that is down (503, then refusing connections) loses no record", async () => {
  const dataDir = await Deno.makeTempDir();
  const entra = startEntraFake({ scope: SCOPE }); // the token endpoint stays up
  let refused = 0;
  let api = startIngestionFake({
    entra,
    script: () => {
      refused++;
      return new Response("busy", { status: 503 });
    },
  });
  const port = api.port;
  const gw = await startGateway({
    server: { data_dir: dataDir },
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{
      use: "azure-sentinel",
      config: {
        endpoint_url: api.url,
        dcr_immutable_id: TEST_DCR,
        stream_name: TEST_STREAM,
        tenant_id: entra.tenantId,
        client_id: entra.clientId,
        client_secret: entra.clientSecret,
        authority_host: entra.authorityHost,
        timeout_ms: 2000,
      },
      queue: { batch_size: 50, flush_interval_ms: 20 },
    }],
  });
  const ids = Array.from({ length: N }, (_, i) => `sentinel-loss-${i}`);
  try {
    await sendThroughOutage(gw.url, ids, {
      refused: () => until(() => refused > 0, 20_000, "a refused upload"),
      stop: () => api.close(),
    });
    assert.equal(api.records.length, 0);
    api = startIngestionFake({ entra, port });
    await until(() => seen(api).size >= N, 120_000, "a record for every call");
    assertEachOnce(seen(api), ids, "record");
    assert.deepEqual(api.refusals, []);
    assert.deepEqual(entra.refusals, []);
  } finally {
    await gw.close();
    await api.close();
    await entra.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("litellm docs: callbacks azure_sentinel with the AZURE_SENTINEL_* variables sends one record per call", async () => {
  const entra = startEntraFake({ scope: SCOPE });
  const api = startIngestionFake({ entra, format: "payload" });
  const upstream = startUpstream();
  const dir = await Deno.makeTempDir();
  try {
    const raw = {
      model_list: [{
        model_name: "gpt-4o",
        litellm_params: { model: "openai/gpt-4o", api_base: upstream.url, api_key: "sk-up-0001" },
      }],
      general_settings: { master_key: "sk-1234" },
      litellm_settings: { callbacks: ["azure_sentinel"] },
      environment_variables: {
        AZURE_SENTINEL_DCR_IMMUTABLE_ID: TEST_DCR,
        AZURE_SENTINEL_STREAM_NAME: TEST_STREAM,
        // The DCR's ingestion endpoint and Entra ID's authority are loopback stand-ins here.
        AZURE_SENTINEL_ENDPOINT: api.url,
        AZURE_SENTINEL_AUTHORITY_HOST: entra.authorityHost,
        AZURE_SENTINEL_TENANT_ID: entra.tenantId,
        AZURE_SENTINEL_CLIENT_ID: entra.clientId,
        AZURE_SENTINEL_CLIENT_SECRET: entra.clientSecret,
      },
    };
    // No "not supported" warning: the callback and its variables are the azure-sentinel plugin's.
    const check = await checkConfig(raw, { env: () => undefined, baseDir: dir });
    assert.deepEqual(check.problems, []);
    await Deno.writeTextFile(`${dir}/config.yaml`, stringify(raw));
    const config = await loadConfig(`${dir}/config.yaml`);
    const [entry] = config.sinks;
    assert.equal(entry.use, "azure-sentinel");
    const gw = await startGateway({
      ...config,
      server: { ...config.server, data_dir: `${dir}/data` },
    });
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
    assert.deepEqual(api.refusals, []);
    assert.equal(api.records.length, 2);
    for (const record of api.records) {
      // LiteLLM's standard logging payload, as LiteLLM sends it to the stream.
      assert.equal(record.model_group, "gpt-4o");
      assert.equal(record.status, "success");
      assert.ok(!JSON.stringify(record).includes("sk-up-0001"));
    }
  } finally {
    await upstream.close();
    await api.close();
    await entra.close();
    await Deno.remove(dir, { recursive: true });
  }
});
