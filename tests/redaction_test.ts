/**
 * The structural redaction step through the gateway: per-sink message
 * removal, mask_input / mask_output, non-text parts, key info, and config
 * secrets that never reach any sink. Plus the policy rules (tighten only,
 * opt-out, locked sinks).
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { readJsonlEvents, startGateway } from "./fakes/gateway.ts";
import { startUpstream } from "./fakes/upstream.ts";
import { effectivePolicy } from "../core/redaction/policy.ts";
import { DEFAULT_CONTROLS } from "../core/pipeline/controls.ts";
import { parseConfig } from "../core/mod.ts";
import { createHmac } from "node:crypto";
import { isSecretName } from "../core/redaction/structural.ts";

async function withGateway(
  sinks: Record<string, unknown>[],
  run: (client: OpenAI, dirs: Record<string, string>) => Promise<void>,
  extra: Record<string, unknown> = {},
): Promise<Record<string, Record<string, unknown>[]>> {
  const base = await Deno.makeTempDir();
  const dirs: Record<string, string> = {};
  const entries = sinks.map((s) => {
    const name = String(s.name);
    dirs[name] = `${base}/${name}`;
    return { use: "jsonl", queue: { flush_interval_ms: 10 }, ...s, config: { dir: dirs[name] } };
  });
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: entries,
    ...extra,
  } as never);
  try {
    const client = new OpenAI({
      apiKey: "sk-client-key-123",
      baseURL: `${gw.url}/v1`,
      maxRetries: 0,
    });
    await run(client, dirs);
  } finally {
    await gw.close();
  }
  const out: Record<string, Record<string, unknown>[]> = {};
  for (const [name, dir] of Object.entries(dirs)) {
    out[name] = await readJsonlEvents(dir).catch(() => []);
  }
  await Deno.remove(base, { recursive: true });
  return out;
}

Deno.test("a sink with messages: remove gets placeholders; other sinks keep the content; usage and cost stay", async () => {
  const events = await withGateway(
    [{ name: "full" }, { name: "private", redaction: { messages: "remove" } }],
    async (client) => {
      await client.chat.completions.create({
        model: "mock-gpt",
        messages: [{ role: "user", content: "my diary entry" }],
      });
    },
  );
  const [full] = events.full;
  const [priv] = events.private;
  assert.deepEqual(full.messages, [{ role: "user", content: "my diary entry" }]);
  assert.match(JSON.stringify(full.response), /my diary entry/);
  assert.equal(priv.messages, "[REDACTED]");
  assert.equal(priv.response, "[REDACTED]");
  assert.equal(priv.request_id, full.request_id);
  assert.equal(priv.prompt_tokens, full.prompt_tokens);
  assert.ok((priv.prompt_tokens as number) > 0);
  assert.ok(!JSON.stringify(priv).includes("diary"));
});

Deno.test("mask_input removes the input only, mask_output the output only", async () => {
  const events = await withGateway([{ name: "s" }], async (client) => {
    const ask = (metadata: Record<string, unknown>, id: string) =>
      client.chat.completions.create(
        {
          model: "mock-gpt",
          messages: [{ role: "user", content: "secret plan" }],
          ...({ metadata } as object),
        },
        { headers: { "x-sluice-call-id": id } },
      );
    const a = await ask({ mask_input: true }, "in");
    assert.match(a.choices[0].message.content!, /secret plan/, "the client's answer is unchanged");
    await ask({ mask_output: true }, "out");
  });
  const byId = Object.fromEntries(events.s.map((e) => [e.call_id, e]));
  assert.equal(byId.in.messages, "[REDACTED]");
  assert.match(JSON.stringify(byId.in.response), /secret plan/);
  assert.deepEqual(byId.out.messages, [{ role: "user", content: "secret plan" }]);
  assert.equal(byId.out.response, "[REDACTED]");
});

Deno.test("config secrets never reach any sink; drop_non_text_parts and redact_user_api_key_info apply", async () => {
  const upstream = startUpstream();
  const base = await Deno.makeTempDir();
  const gw = await startGateway({
    server: { master_key: "sk-master-key-0001" },
    models: [{
      name: "gpt",
      provider: "openai",
      api_base: upstream.url,
      api_key: "sk-upstream-key-ABCDEF",
    }],
    sinks: [
      {
        name: "plain",
        use: "jsonl",
        config: { dir: `${base}/plain` },
        queue: { flush_interval_ms: 10 },
      },
      {
        name: "strict",
        use: "jsonl",
        config: { dir: `${base}/strict` },
        queue: { flush_interval_ms: 10 },
        redaction: { drop_non_text_parts: true, redact_user_api_key_info: true },
      },
    ],
  });
  try {
    const client = new OpenAI({
      apiKey: "sk-master-key-0001",
      baseURL: `${gw.url}/v1`,
      maxRetries: 0,
    });
    await client.chat.completions.create({
      model: "gpt",
      messages: [{
        role: "user",
        content: [
          { type: "text", text: "the key is sk-upstream-key-ABCDEF, keep it safe" },
          { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
        ],
      }],
      ...({ metadata: { log_raw_request: true } } as object),
    });
  } finally {
    await gw.close();
    await upstream.close();
  }
  const plain = (await readJsonlEvents(`${base}/plain`))[0];
  const strict = (await readJsonlEvents(`${base}/strict`))[0];
  const raw =
    await Deno.readTextFile(`${base}/plain/${[...Deno.readDirSync(`${base}/plain`)][0].name}`) +
    await Deno.readTextFile(`${base}/strict/${[...Deno.readDirSync(`${base}/strict`)][0].name}`);
  await Deno.remove(base, { recursive: true });
  assert.ok(!raw.includes("sk-upstream-key-ABCDEF"), "the upstream key never reaches a sink");
  assert.ok(!raw.includes("sk-master-key-0001"), "the master key never reaches a sink");
  assert.match(JSON.stringify(plain.messages), /the key is \[SECRET\], keep it safe/);
  const plainRaw = plain.raw_request as { headers: Record<string, string> };
  assert.equal(plainRaw.headers.authorization, undefined, "credentials removed from raw_request");
  const plainParts = (plain.messages as { content: { type: string }[] }[])[0].content;
  assert.deepEqual(plainParts.map((p) => p.type), ["text", "image_url"]);
  const strictParts = (strict.messages as { content: { type: string }[] }[])[0].content;
  assert.deepEqual(strictParts.map((p) => p.type), ["text"]);
  const meta = strict.metadata as Record<string, unknown>;
  assert.ok(Object.keys(meta).every((k) => !k.startsWith("user_api_key_")));
  assert.match(
    String((plain.metadata as Record<string, unknown>).user_api_key_hash),
    /^[0-9a-f]{64}$/,
  );
});

Deno.test("policy: keys and teams only tighten; opt-out turns masking off except on locked sinks; remove stays", () => {
  const { redaction: global } = parseConfig({});
  const base = effectivePolicy(global, undefined, DEFAULT_CONTROLS);
  assert.equal(base.input, "mask");
  assert.equal(base.detectors.length, 8);
  assert.equal(base.stripBase64, true);

  const loose = effectivePolicy(global, { messages: "keep", detectors: ["EMAIL"] }, {
    ...DEFAULT_CONTROLS,
    redaction: [{ messages: "remove", detectors: ["PHONE"] }, { messages: "mask" }],
  });
  assert.equal(loose.input, "remove", "the key's remove wins over the sink's keep");
  assert.deepEqual(loose.detectors, ["EMAIL", "PHONE"]);

  const tryLooser = effectivePolicy(global, { messages: "remove" }, {
    ...DEFAULT_CONTROLS,
    redaction: [{ messages: "keep" }],
  });
  assert.equal(tryLooser.input, "remove", "a key cannot loosen");

  const optOut = { ...DEFAULT_CONTROLS, disableRedaction: true };
  const open = effectivePolicy(global, undefined, optOut);
  assert.equal(open.input, "keep");
  assert.deepEqual(open.detectors, []);
  assert.equal(open.stripBase64, false);
  const locked = effectivePolicy(global, { locked: true }, optOut);
  assert.equal(locked.input, "mask");
  assert.equal(locked.detectors.length, 8);
  const removed = effectivePolicy(global, { messages: "remove" }, optOut);
  assert.equal(removed.input, "remove", "opt-out never turns remove into keep");

  const masked = effectivePolicy(global, undefined, { ...DEFAULT_CONTROLS, maskInput: true });
  assert.equal(masked.input, "remove");
  assert.equal(masked.output, "mask");
});

Deno.test("end to end: email, card, sk- key and a 2 MB base64 image never reach the sink; the client's answer is unchanged", async () => {
  const image = "data:image/png;base64," + btoa("x".repeat(1_500_000)); // 2,000,000 base64 characters
  const text = "Mail me at jane.doe@example.com, card 4111 1111 1111 1111, key sk-proj-" +
    "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0";
  let answer = "";
  const events = await withGateway([{ name: "s" }], async (client) => {
    const r = await client.chat.completions.create({
      model: "mock-gpt",
      messages: [{
        role: "user",
        content: [{ type: "text", text }, { type: "image_url", image_url: { url: image } }],
      }],
    });
    answer = r.choices[0].message.content!;
  });
  assert.match(answer, /jane\.doe@example\.com/, "the client gets the upstream's answer as is");
  const line = JSON.stringify(events.s[0]);
  for (
    const leaked of [
      "jane.doe@example.com",
      "4111 1111 1111 1111",
      "sk-proj-A1b2",
      image.slice(22, 80),
    ]
  ) {
    assert.ok(!line.includes(leaked), `${leaked} leaked`);
  }
  assert.match(line, /\[EMAIL\]/);
  assert.match(line, /\[CREDIT_CARD\]/);
  assert.match(line, /\[SECRET\]/);
  assert.match(line, /data:image\/png;base64,\[stripped 1\.5 MB\]/);
  assert.ok(line.length < 10_000, `event is ${line.length} bytes`);
});

Deno.test("pseudonym_secret: masks become [KIND:tag] with the HMAC-SHA256 tag, equal across events and sinks' policies", async () => {
  const secret = "pseudo-key-for-tests";
  const tagOf = (kind: string, value: string) =>
    createHmac("sha256", secret).update(`${kind}:${value}`).digest("hex").slice(0, 8);
  const events = await withGateway(
    [{ name: "a" }, { name: "b", redaction: { messages: "mask", strip_base64: false } }],
    async (client) => {
      for (const who of ["ana@example.com", "bob@example.org", "ana@example.com"]) {
        await client.chat.completions.create({
          model: "mock-gpt",
          messages: [{ role: "user", content: `write to ${who} from 10.20.30.40` }],
        });
      }
    },
    { redaction: { pseudonym_secret: secret } },
  );
  assert.equal(events.a.length, 3);
  const contents = events.a.map((e) => (e.messages as { content: string }[])[0].content).sort();
  const ana = `[EMAIL:${tagOf("EMAIL", "ana@example.com")}]`;
  const bob = `[EMAIL:${tagOf("EMAIL", "bob@example.org")}]`;
  const ip = `[IPV4:${tagOf("IPV4", "10.20.30.40")}]`;
  assert.deepEqual(
    contents,
    [`write to ${ana} from ${ip}`, `write to ${ana} from ${ip}`, `write to ${bob} from ${ip}`]
      .sort(),
  );
  // Sink b has its own policy (prepared separately); the global secret still applies: same tags.
  const bContents = events.b.map((e) => (e.messages as { content: string }[])[0].content).sort();
  assert.deepEqual(bContents, contents);
  for (const e of [...events.a, ...events.b]) assert.ok(!JSON.stringify(e).includes(secret));
});

Deno.test("credentials in request metadata become [SECRET]; look-alike names stay", async () => {
  assert.ok(isSecretName("langfuse_secret_key"));
  assert.ok(isSecretName("access_token"));
  assert.ok(isSecretName("apiKey"));
  assert.ok(isSecretName("openai_api_key"));
  assert.ok(!isSecretName("update_trace_keys"));
  assert.ok(!isSecretName("max_tokens"));
  assert.ok(!isSecretName("langfuse_public_key"));
  const events = await withGateway([{ name: "s" }], async (client) => {
    await client.chat.completions.create({
      model: "mock-gpt",
      messages: [{ role: "user", content: "hi" }],
      ...({
        metadata: {
          langfuse_secret_key: "sk-lf-request-secret-0001",
          langfuse_public_key: "pk-lf-public-0001",
          update_trace_keys: ["output"],
          nested: { headers: { Authorization: "Bearer nested-credential-0002" } },
        },
      } as object),
    });
  });
  const request = (events.s[0].metadata as { request: Record<string, unknown> }).request;
  assert.equal(request.langfuse_secret_key, "[SECRET]");
  assert.equal(request.langfuse_public_key, "pk-lf-public-0001");
  assert.deepEqual(request.update_trace_keys, ["output"]);
  assert.deepEqual(request.nested, { headers: { Authorization: "[SECRET]" } });
  assert.ok(!JSON.stringify(events.s[0]).includes("sk-lf-request-secret-0001"));
  assert.ok(!JSON.stringify(events.s[0]).includes("nested-credential-0002"));
});
