/**
 * The s3 sink through a whole gateway (real `openai` client, fake upstream,
 * s3rver on 127.0.0.1): what the sink's `redaction:` strips never reaches
 * the bucket and no secret does; a store that is down while calls flow loses
 * no object; a 403 is reported once, clearly, and the events are delivered
 * once access is fixed.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { startGateway } from "./fakes/gateway.ts";
import { sendCalls, until } from "./fakes/outage.ts";
import { startUpstream } from "./fakes/upstream.ts";
import {
  getObject,
  listKeys,
  s3ErrorXml,
  S3RVER_KEY_ID,
  sdkClient,
  startS3Proxy,
  startS3rver,
} from "./fakes/s3rver.ts";

const S3_SECRET = "s3-gateway-secret-Jd82/nQ0xV+tz";
const MASTER_KEY = "sk-master-key-s3-0001";
const UPSTREAM_KEY = "sk-upstream-key-s3-ABCDEF0123";

/** Captures the gateway's log lines (it writes them with console.error / console.warn). */
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

Deno.test("through the gateway: non-text parts dropped per sink, base64 stripped by default, no secret in any object", async () => {
  const s3 = await startS3rver(["logs"]);
  const client = sdkClient(s3.endpoint);
  const upstream = startUpstream();
  const dataDir = await Deno.makeTempDir();
  const sink = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    use: "s3",
    queue: { flush_interval_ms: 10 },
    ...extra,
    config: {
      bucket: "logs",
      endpoint_url: s3.endpoint,
      access_key_id: S3RVER_KEY_ID,
      secret_access_key: S3_SECRET,
      path: name,
      use_team_prefix: true,
    },
  });
  const gw = await startGateway({
    server: { master_key: MASTER_KEY, data_dir: dataDir },
    models: [{ name: "gpt", provider: "openai", api_base: upstream.url, api_key: UPSTREAM_KEY }],
    sinks: [sink("plain"), sink("strict", { redaction: { drop_non_text_parts: true } })],
  });
  const png = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(3000))));
  const pdf = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(3000))));
  let requestId = "";
  try {
    const openai = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const { data, response } = await openai.chat.completions.create({
      model: "gpt",
      messages: [{
        role: "user",
        content: [
          { type: "text", text: `describe these; my key is ${UPSTREAM_KEY}` },
          { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } },
          {
            type: "file",
            file: { filename: "report.pdf", file_data: `data:application/pdf;base64,${pdf}` },
          },
        ],
      }],
      ...({ metadata: { log_raw_request: true } } as object),
    }).withResponse();
    assert.ok(data.choices[0].message.content);
    requestId = response.headers.get("x-sluice-call-id") ?? "";
  } finally {
    await gw.close();
    await upstream.close();
  }
  try {
    const keys = await listKeys(client, "logs");
    assert.equal(keys.length, 2, keys.join("\n"));
    const texts: Record<string, string> = {};
    for (const key of keys) texts[key.split("/")[0]] = (await getObject(client, "logs", key)).text;
    assert.match(
      keys.find((k) => k.startsWith("plain/"))!,
      /^plain\/\d{4}-\d\d-\d\d\/\d\d-\d\d-\d\d-\d{6}_[0-9a-f-]{36}\.json$/,
    );
    const plain = JSON.parse(texts.plain);
    const strict = JSON.parse(texts.strict);
    assert.equal(plain.request_id, strict.request_id);
    assert.equal(plain.call_id, requestId);

    // Default redaction: the parts stay, their base64 does not.
    const plainParts = plain.messages[0].content as { type: string }[];
    assert.deepEqual(plainParts.map((p) => p.type), ["text", "image_url", "file"]);
    assert.match(JSON.stringify(plainParts[1]), /data:image\/png;base64,\[stripped [\d.]+ KB\]/);
    assert.match(
      JSON.stringify(plainParts[2]),
      /data:application\/pdf;base64,\[stripped [\d.]+ KB\]/,
    );
    // drop_non_text_parts (LiteLLM's s3_strip_base64_files): only text parts.
    const strictParts = strict.messages[0].content as { type: string }[];
    assert.deepEqual(strictParts.map((p) => p.type), ["text"]);

    for (const [name, text] of Object.entries(texts)) {
      assert.ok(!text.includes(png.slice(0, 40)) && !text.includes(pdf.slice(0, 40)), name);
      for (const secret of [S3_SECRET, MASTER_KEY, UPSTREAM_KEY]) {
        assert.ok(!text.includes(secret), `${name} holds a secret`);
      }
      assert.ok(!/bearer /i.test(text), `${name} holds an Authorization value`);
      assert.ok(!/"sk-[A-Za-z0-9-]{8,}/.test(text) && !/ sk-[A-Za-z0-9-]{8,}/.test(text), name);
      const raw = JSON.parse(text).raw_request as { headers: Record<string, string> };
      assert.ok(raw, `${name}: log_raw_request kept a raw request`);
      assert.equal(raw.headers.authorization, undefined);
    }
  } finally {
    client.destroy();
    await s3.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("s3rver stopped while calls flow: every object is there after it comes back", async () => {
  const s3 = await startS3rver(["logs"]);
  const client = sdkClient(s3.endpoint);
  const dataDir = await Deno.makeTempDir();
  const logs = captureLogs();
  const gw = await startGateway({
    server: { data_dir: dataDir },
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{
      use: "s3",
      queue: { batch_size: 50, flush_interval_ms: 20, max_queue: 200 },
      config: {
        bucket: "logs",
        endpoint_url: s3.endpoint,
        access_key_id: S3RVER_KEY_ID,
        secret_access_key: S3_SECRET,
        path: "down",
      },
    }],
  });
  const N = 400;
  const ids = Array.from({ length: N }, (_, i) => `down-${i}`);
  try {
    const first = await sendCalls(gw.url, ids.slice(0, N / 4), 8);
    await s3.stop();
    const second = await sendCalls(gw.url, ids.slice(N / 4), 8);
    assert.deepEqual(
      [...new Set([...first.values(), ...second.values()])],
      [200],
      "every call succeeded",
    );
    await until(
      () =>
        Promise.resolve(
          logs.lines.some((l) => /sink "s3": delivery failed \(will retry; events kept\)/.test(l)),
        ),
      30_000,
      "a failed delivery while the store is down",
    );
    await s3.start();
    await until(
      async () => (await listKeys(client, "logs", "down/")).length >= N,
      90_000,
      "every object",
    );
    const keys = await listKeys(client, "logs", "down/");
    assert.equal(keys.length, N, "one object per call, no duplicates under other keys");
    const callIds = new Set<string>();
    for (const key of keys) {
      const event = JSON.parse((await getObject(client, "logs", key)).text);
      assert.ok(key.endsWith(`_${event.request_id}.json`));
      callIds.add(event.call_id);
    }
    assert.deepEqual([...callIds].sort(), [...ids].sort());
    assert.ok(
      logs.lines.some((l) =>
        /sink "s3": delivery failed \(will retry; events kept\): s3: /.test(l)
      ),
      logs.lines.join("\n"),
    );
    assert.ok(!logs.lines.join("\n").includes(S3_SECRET));
  } finally {
    await gw.close();
    logs.restore();
    client.destroy();
    await s3.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a 403 is reported once with bucket, endpoint and access key id, never the secret; events arrive once it is fixed", async () => {
  const s3 = await startS3rver(["logs"]);
  const client = sdkClient(s3.endpoint);
  const proxy = startS3Proxy(s3.endpoint);
  proxy.setMode({
    kind: "answer",
    status: 403,
    body: s3ErrorXml("AccessDenied", "Access Denied"),
    headers: { "content-type": "application/xml" },
  });
  const dataDir = await Deno.makeTempDir();
  const logs = captureLogs();
  const keyId = S3RVER_KEY_ID; // the only key id s3rver knows
  const gw = await startGateway({
    server: { data_dir: dataDir },
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{
      name: "audit",
      use: "s3",
      queue: { batch_size: 10, flush_interval_ms: 20 },
      config: {
        bucket: "logs",
        endpoint_url: proxy.endpoint,
        access_key_id: keyId,
        secret_access_key: S3_SECRET,
        path: "denied",
      },
    }],
  });
  const ids = Array.from({ length: 30 }, (_, i) => `denied-${i}`);
  try {
    assert.deepEqual([...new Set((await sendCalls(gw.url, ids, 8)).values())], [200]);
    await until(
      () => Promise.resolve(proxy.requests.length >= 20),
      30_000,
      "several refused writes",
    );
    // More refused writes (retries of several batches) before looking at the log.
    await until(
      () => Promise.resolve(proxy.requests.length >= 40),
      30_000,
      "more refused writes",
    );
    const refused = proxy.requests.length;
    const about = logs.lines.filter((l) => l.includes("AccessDenied"));
    assert.ok(!logs.lines.join("\n").includes(S3_SECRET), "the secret is never logged");
    // One line for the whole outage, however many batches were refused.
    assert.equal(about.length, 1, about.join("\n"));
    assert.match(about[0], /sink "audit": delivery failed \(will retry; events kept\): s3: /);
    for (const part of ['bucket "logs"', proxy.endpoint, keyId, "403", "s3:PutObject"]) {
      assert.ok(about[0].includes(part), `${part} not in: ${about[0]}`);
    }

    // Access fixed: everything queued or spooled arrives.
    proxy.setMode({ kind: "pass" });
    await until(
      async () => (await listKeys(client, "logs", "denied/")).length >= ids.length,
      90_000,
      "every object after the fix",
    );
    const keys = await listKeys(client, "logs", "denied/");
    assert.equal(keys.length, ids.length);
    const callIds = new Set<string>();
    for (const key of keys) {
      callIds.add(JSON.parse((await getObject(client, "logs", key)).text).call_id);
    }
    assert.deepEqual([...callIds].sort(), [...ids].sort());
    assert.ok(proxy.requests.length > refused);
  } finally {
    await gw.close();
    logs.restore();
    client.destroy();
    await proxy.close();
    await s3.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
