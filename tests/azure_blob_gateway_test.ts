/**
 * The azure-blob sink through a whole gateway (in its sandbox) against
 * Azurite, Microsoft's Storage emulator, which checks every Shared Key
 * signature; blobs read back with the official `@azure/storage-blob` SDK:
 * a Blob endpoint that is down (503, then refusing connections) while
 * calls flow loses no blob; a wrong account key is reported once, clearly
 * and without the key, and the kept events arrive once the key is fixed; a
 * LiteLLM config.yaml with `callbacks: ["azure_storage"]` and the
 * variables LiteLLM's docs name runs as written.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { stringify } from "npm:yaml@2.9.1";
import { checkConfig, loadConfig } from "../core/mod.ts";
import { startGateway } from "./fakes/gateway.ts";
import { startUpstream } from "./fakes/upstream.ts";
import { assertEachOnce, countBy, sendCalls, sendThroughOutage, until } from "./fakes/outage.ts";
import { type Azurite, startAzurite } from "../plugins/azure/test_support.ts";
import { AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME } from "@sluice/azure";

const N = 300;

/** Call ids of the blobs stored, counted. */
async function seen(azurite: Azurite, container: string) {
  return countBy(
    (await azurite.blobs(container)).values(),
    (b) => String(JSON.parse(b.body).call_id),
  );
}

/** Captures the gateway's log lines (console.error / console.warn). */
function captureLogs() {
  const lines: string[] = [];
  const { error, warn } = console;
  console.error = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  console.warn = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  return {
    lines,
    restore() {
      console.error = error;
      console.warn = warn;
    },
  };
}

/**
 * An HTTP proxy in front of Azurite on a fixed port: forwards requests as
 * they are (Shared Key signs the path, not the host), answers 503 to
 * uploads while `failing`, and can be stopped and started again.
 */
function startBlobProxy(target: string) {
  let port = 0;
  let server: Deno.HttpServer<Deno.NetAddr> | undefined;
  const proxy = {
    url: "",
    failing: true,
    refused: 0,
    start() {
      server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (req) => {
        const url = new URL(req.url);
        if (proxy.failing && req.method === "PUT") {
          proxy.refused++;
          await req.body?.cancel();
          return new Response("<Error><Code>ServerBusy</Code><Message>busy</Message></Error>", {
            status: 503,
          });
        }
        const headers = new Headers(req.headers);
        headers.delete("host");
        const res = await fetch(`${target}${url.pathname}${url.search}`, {
          method: req.method,
          headers,
          body: req.body ? new Uint8Array(await req.arrayBuffer()) : undefined,
        });
        return new Response(res.body, { status: res.status, headers: res.headers });
      });
      port = server.addr.port;
      proxy.url = `http://127.0.0.1:${port}`;
    },
    async stop() {
      await server?.shutdown();
      server = undefined;
    },
  };
  proxy.start();
  return proxy;
}

Deno.test("azure-blob through the gateway: a Blob endpoint that is down (503, then refusing connections) loses no blob", async () => {
  const azurite = await startAzurite();
  const dataDir = await Deno.makeTempDir();
  const proxy = startBlobProxy(`http://127.0.0.1:${azurite.port}`);
  try {
    await azurite.createContainer("llm-logs");
    const gw = await startGateway({
      server: { data_dir: dataDir },
      models: [{ name: "mock-gpt", provider: "mock" }],
      sinks: [{
        use: "azure-blob",
        config: {
          container: "llm-logs",
          endpoint_url: `${proxy.url}/${AZURITE_ACCOUNT_NAME}`,
          account_name: AZURITE_ACCOUNT_NAME,
          account_key: AZURITE_ACCOUNT_KEY,
          path: "gateway",
          timeout_ms: 2000,
        },
        queue: { batch_size: 50, flush_interval_ms: 20 },
      }],
    });
    const ids = Array.from({ length: N }, (_, i) => `azure-loss-${i}`);
    try {
      await sendThroughOutage(gw.url, ids, {
        refused: () => until(() => proxy.refused > 0, 20_000, "a refused upload"),
        stop: () => proxy.stop(),
      });
      assert.equal((await azurite.blobs("llm-logs")).size, 0);
      proxy.failing = false;
      proxy.start();
      await until(
        async () => (await seen(azurite, "llm-logs")).size >= N,
        120_000,
        "a blob per call",
      );
      assertEachOnce(await seen(azurite, "llm-logs"), ids, "blob");
      for (const name of (await azurite.blobs("llm-logs")).keys()) {
        assert.match(name, /^gateway\/\d{4}-\d\d-\d\d\/\d\d-\d\d-\d\d-\d{6}_[\w-]+\.json$/);
      }
    } finally {
      await gw.close();
    }
  } finally {
    await proxy.stop();
    await azurite.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("azure-blob through the gateway: a wrong account key is reported once without the key; fixed, the kept events arrive", async () => {
  const azurite = await startAzurite();
  const dataDir = await Deno.makeTempDir();
  const wrong = new Uint8Array(64).fill(9).toBase64();
  const sink = (accountKey: string) => ({
    use: "azure-blob",
    config: {
      container: "denied",
      connection_string: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT_NAME};` +
        `AccountKey=${accountKey};BlobEndpoint=${azurite.blobEndpoint};`,
    },
    queue: { batch_size: 10, flush_interval_ms: 20 },
  });
  const logs = captureLogs();
  const ids = Array.from({ length: 12 }, (_, i) => `azure-denied-${i}`);
  try {
    await azurite.createContainer("denied");
    const gw = await startGateway({
      server: { data_dir: dataDir },
      models: [{ name: "mock-gpt", provider: "mock" }],
      sinks: [sink(wrong)],
    });
    try {
      await sendCalls(gw.url, ids, 4);
      await until(
        () => logs.lines.some((l) => l.includes("azure-blob: container")),
        30_000,
        "the refusal",
      );
    } finally {
      await gw.close();
    }
    const about = logs.lines.filter((l) => l.includes("azure-blob: container"));
    assert.equal(about.length, 1, about.join("\n"));
    for (
      const part of ['container "denied"', "403", "check the account key", azurite.blobEndpoint]
    ) {
      assert.ok(about[0].includes(part), `${part} not in: ${about[0]}`);
    }
    const all = logs.lines.join("\n");
    for (const secret of [wrong, AZURITE_ACCOUNT_KEY]) {
      assert.ok(!all.includes(secret), "a key was logged");
    }
    assert.equal((await azurite.blobs("denied")).size, 0);
    // The key fixed: a gateway on the same data directory delivers what was kept.
    const fixed = await startGateway({
      server: { data_dir: dataDir },
      models: [{ name: "mock-gpt", provider: "mock" }],
      sinks: [sink(AZURITE_ACCOUNT_KEY)],
    });
    try {
      await until(
        async () => (await seen(azurite, "denied")).size >= ids.length,
        30_000,
        "the kept events",
      );
    } finally {
      await fixed.close();
    }
    assertEachOnce(await seen(azurite, "denied"), ids, "blob");
  } finally {
    logs.restore();
    await azurite.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("litellm docs: callbacks azure_storage with AZURE_STORAGE_ACCOUNT_NAME / _KEY / _FILE_SYSTEM writes one blob per call", async () => {
  const azurite = await startAzurite();
  const upstream = startUpstream();
  const dir = await Deno.makeTempDir();
  try {
    await azurite.createContainer("litellm-logs");
    const raw = {
      model_list: [{
        model_name: "gpt-4o",
        litellm_params: { model: "openai/gpt-4o", api_base: upstream.url, api_key: "sk-up-0001" },
      }],
      general_settings: { master_key: "sk-1234" },
      litellm_settings: { callbacks: ["azure_storage"] },
      environment_variables: {
        AZURE_STORAGE_ACCOUNT_NAME: AZURITE_ACCOUNT_NAME,
        AZURE_STORAGE_FILE_SYSTEM: "litellm-logs",
        AZURE_STORAGE_ACCOUNT_KEY: AZURITE_ACCOUNT_KEY,
        // A test cannot reach <account>.blob.core.windows.net: Azure's own override names Azurite.
        AZURE_STORAGE_BLOB_ENDPOINT: azurite.blobEndpoint,
      },
    };
    // No "not supported" warning: the callback and its variables are the azure-blob plugin's.
    const check = await checkConfig(raw, { env: () => undefined, baseDir: dir });
    assert.deepEqual(check.problems, []);
    await Deno.writeTextFile(`${dir}/config.yaml`, stringify(raw));
    const config = await loadConfig(`${dir}/config.yaml`);
    const [entry] = config.sinks;
    assert.equal(entry.use, "azure-blob");
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
    const blobs = await azurite.blobs("litellm-logs");
    assert.equal(blobs.size, 2);
    for (const [name, blob] of blobs) {
      assert.match(name, /^\d{4}-\d\d-\d\d\/\d\d-\d\d-\d\d-\d{6}_[\w-]+\.json$/);
      const event = JSON.parse(blob.body);
      assert.equal(event.model_group, "gpt-4o");
      assert.equal(event.status, "success");
      assert.ok(!blob.body.includes("sk-up-0001") && !blob.body.includes("sk-1234"));
    }
  } finally {
    await upstream.close();
    await azurite.close();
    await Deno.remove(dir, { recursive: true });
  }
});
