/**
 * `GET /v1/models/{id}` and model wildcards (#16 item 3), through the real
 * `openai` client against a loopback gateway and recording upstreams: one
 * model for a name the caller may see, the proxied routes' 404 for any
 * other; `*` and `openai/*` entries forwarding the requested name, exact
 * names before patterns and longer patterns before `*`; the event's
 * `model_group`, `model` and cost; keys allowed a pattern; a LiteLLM
 * `config.yaml` with `model_name: "*"`.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { stringify } from "npm:yaml@2.9.1";
import { checkConfig, loadConfig } from "../core/mod.ts";
import { until } from "../core/testing.ts";
import { ModelRouter } from "../core/providers/router.ts";
import { upstreamModelFor } from "../core/providers/model_pattern.ts";
import { readJsonlEvents, startGateway } from "./fakes/gateway.ts";
import { startUpstream } from "./fakes/upstream.ts";

const MASTER = "sk-master-models-0001";
const LIMITED = "sk-limited-models-0002";

const hi = [{ role: "user" as const, content: "hi" }];

/** The error body a failed client call carried. */
function errorOf(error: unknown): unknown {
  assert.ok(error instanceof OpenAI.APIError, String(error));
  return { status: error.status, error: error.error };
}

/** The rejection of `call` (which must reject). */
async function rejection(call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (error) {
    return errorOf(error);
  }
  throw new Error("the call succeeded");
}

Deno.test("models.retrieve: a Model for what the key may see, the proxied routes' 404 for the rest", async () => {
  const upstream = startUpstream();
  const gw = await startGateway({
    server: { master_key: MASTER },
    models: [
      { name: "a", provider: "mock" },
      { name: "hidden-b", provider: "mock" },
      { name: "openai/*", provider: "openai", model: "*", api_base: upstream.url },
    ],
    keys: [{ key: LIMITED, models: ["a", "openai/*"] }],
  });
  try {
    const master = new OpenAI({ apiKey: MASTER, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const limited = new OpenAI({ apiKey: LIMITED, baseURL: `${gw.url}/v1`, maxRetries: 0 });

    const a = await master.models.retrieve("a");
    assert.deepEqual({ ...a, created: 0 }, {
      id: "a",
      object: "model",
      created: 0,
      owned_by: "mock",
    });
    assert.ok(Number.isInteger(a.created) && a.created > 1_700_000_000);
    assert.equal((await master.models.retrieve("hidden-b")).id, "hidden-b");
    // An id with a slash, served by a wildcard; the pattern itself is listed, so it is retrievable.
    const wild = await limited.models.retrieve("openai/gpt-4o");
    assert.deepEqual([wild.id, wild.owned_by], ["openai/gpt-4o", "openai"]);
    assert.equal((await limited.models.retrieve("openai/*")).id, "openai/*");
    assert.equal((await limited.models.retrieve("a")).id, "a");

    // The list: concrete names and the wildcard as configured, filtered by the key.
    const ids = async (client: OpenAI) => (await client.models.list()).data.map((m) => m.id);
    assert.deepEqual(await ids(master), ["a", "hidden-b", "openai/*"]);
    assert.deepEqual(await ids(limited), ["a", "openai/*"]);

    // Hidden and unknown ids answer exactly as a call to them does.
    for (const id of ["hidden-b", "nope", "anthropic/claude-x"]) {
      const retrieved = await rejection(limited.models.retrieve(id));
      const called = await rejection(limited.chat.completions.create({ model: id, messages: hi }));
      assert.deepEqual(retrieved, called, id);
      assert.deepEqual(retrieved, {
        status: 404,
        error: {
          type: "invalid_request_error",
          code: "model_not_found",
          param: "model",
          message:
            `The model "${id}" does not exist on this gateway. Available models: a, openai/*.`,
        },
      });
    }
    // Without a key: 401, as on the list.
    const anonymous = await fetch(`${gw.url}/v1/models/a`);
    assert.equal(anonymous.status, 401);
    assert.equal((await anonymous.json()).error.code, "missing_api_key");

    // The path forms: unencoded slash, no /v1, trailing slash; GET only.
    const auth = { authorization: `Bearer ${LIMITED}` };
    for (const path of ["/v1/models/openai/gpt-4o", "/models/openai%2Fgpt-4o", "/v1/models/a/"]) {
      const res = await fetch(gw.url + path, { headers: auth });
      assert.equal(res.status, 200, path);
      assert.equal((await res.json()).object, "model");
    }
    const deleted = await fetch(`${gw.url}/v1/models/a`, { method: "DELETE", headers: auth });
    assert.equal(deleted.status, 405);
    assert.equal(deleted.headers.get("allow"), "GET");
    await deleted.body?.cancel();

    // The key allowed `openai/*` may call any name it matches.
    const answer = await limited.chat.completions.create({
      model: "openai/gpt-4o-mini",
      messages: hi,
    });
    assert.ok(answer.choices[0].message.content);
    assert.equal(upstream.requests.at(-1)?.body?.model, "gpt-4o-mini");
  } finally {
    await gw.close();
    await upstream.close();
  }
});

Deno.test("wildcards forward the requested name; exact names, then longer patterns, win; events name both models and the cost", async () => {
  const star = startUpstream();
  const prefixed = startUpstream();
  const exact = startUpstream();
  const dir = await Deno.makeTempDir({ prefix: "sluice-models-" });
  const gw = await startGateway({
    models: [
      { name: "*", id: "star-entry", provider: "openai", model: "*", api_base: star.url },
      { name: "openai/*", provider: "openai", model: "*", api_base: prefixed.url },
      {
        name: "openai/gpt-4o",
        provider: "openai",
        model: "gpt-4o-2024-08-06",
        api_base: exact.url,
      },
    ],
    sinks: [{ use: "jsonl", config: { dir } }],
  });
  try {
    const client = new OpenAI({ apiKey: "anything", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const sent = async (model: string) => {
      const { data, response } = await client.chat.completions.create({ model, messages: hi })
        .withResponse();
      return { model: data.model, id: response.headers.get("x-sluice-model-id") };
    };
    assert.deepEqual(await sent("gpt-4o-mini"), { model: "gpt-4o-mini", id: "star-entry" });
    assert.equal(star.requests.at(-1)?.body?.model, "gpt-4o-mini");
    await sent("my-local/llama-3.1-8b");
    assert.equal(star.requests.at(-1)?.body?.model, "my-local/llama-3.1-8b");

    // `openai/*` is longer than `*`: the prefix is stripped (its `model` is `*`).
    await sent("openai/gpt-4o-mini");
    assert.equal(prefixed.requests.at(-1)?.body?.model, "gpt-4o-mini");
    // An exact name wins over both patterns.
    await sent("openai/gpt-4o");
    assert.deepEqual(exact.requests.map((r) => r.body?.model), ["gpt-4o-2024-08-06"]);
    assert.equal(prefixed.requests.length, 1);

    // Streams and embeddings go the same way.
    const stream = await client.chat.completions.create({
      model: "openai/gpt-4o-mini",
      messages: hi,
      stream: true,
    });
    let text = "";
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
    assert.equal(text, "Hello from the fake upstream.");
    assert.equal(prefixed.requests.at(-1)?.body?.model, "gpt-4o-mini");
    const embedded = await client.embeddings.create({
      model: "text-embedding-3-small",
      input: "x",
    });
    assert.equal(embedded.data.length, 1);
    assert.equal(star.requests.at(-1)?.body?.model, "text-embedding-3-small");

    // Metrics count names a wildcard serves under the wildcard, not as unknown.
    const counted = async () => {
      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      return /sluice_requests_total\{[^}]*model="openai\/\*"[^}]*\} 2$/m.test(metrics) &&
        /sluice_requests_total\{[^}]*model="\*"[^}]*\} 2$/m.test(metrics) &&
        !metrics.includes("__unknown__");
    };
    await until(counted, 5_000, "the calls counted under their wildcards");
  } finally {
    await gw.close(); // flushes the JSONL sink
    await Promise.all([star.close(), prefixed.close(), exact.close()]);
  }
  const events = await readJsonlEvents(dir);
  await Deno.remove(dir, { recursive: true });
  const of = (group: string, stream = false) => {
    const found = events.filter((e) => e.model_group === group && e.stream === stream);
    assert.equal(found.length, 1, `${group} stream=${stream}`);
    return found[0];
  };
  // Priced from the table under the upstream model: 11 prompt and 7 completion tokens.
  const mini = 11 * 1.5e-7 + 7 * 6e-7;
  const picked = (e: Record<string, unknown>) => ({
    model: e.model,
    model_group: e.model_group,
    model_id: e.model_id,
    cost: e.response_cost,
  });
  assert.deepEqual(picked(of("gpt-4o-mini")), {
    model: "gpt-4o-mini",
    model_group: "gpt-4o-mini",
    model_id: "star-entry",
    cost: mini,
  });
  const prefixedEvent = of("openai/gpt-4o-mini");
  assert.equal(prefixedEvent.model, "gpt-4o-mini");
  assert.equal(prefixedEvent.response_cost, mini);
  const streamed = of("openai/gpt-4o-mini", true);
  assert.equal(streamed.model, "gpt-4o-mini");
  assert.ok((streamed.response_cost as number) > 0);
  assert.equal(of("openai/gpt-4o").model, "gpt-4o-2024-08-06");
  // A model the table does not know is served and logged, without a cost.
  const local = of("my-local/llama-3.1-8b");
  assert.equal(local.model, "my-local/llama-3.1-8b");
  assert.equal(local.response_cost, undefined);
});

Deno.test("the router: upstream models from the pattern's captures, precedence, shared round robin", async () => {
  const router = new ModelRouter([
    { name: "*", provider: "mock", model: "*" } as never,
    { name: "openai/*", provider: "mock", model: "*" } as never,
    { name: "acme/*", provider: "mock" } as never, // no model: the requested name as is
    { name: "fo::*:static::*", provider: "mock", model: "fo::*:static::*" } as never,
    { name: "pinned/*", provider: "mock", model: "one-model" } as never,
    { name: "openai/gpt-4o", provider: "mock", model: "exact" } as never,
  ]);
  const upstream = (name: string) => router.deployments(name).map((d) => d.upstreamModel);
  assert.deepEqual(upstream("openai/gpt-4o"), ["exact"]);
  assert.deepEqual(upstream("openai/o3"), ["o3"]);
  assert.deepEqual(upstream("o3"), ["o3"]);
  assert.deepEqual(upstream("acme/x-1"), ["acme/x-1"]);
  assert.deepEqual(upstream("fo::hi::static::there"), ["fo::hi::static::there"]);
  assert.deepEqual(upstream("pinned/anything"), ["one-model"]);
  assert.equal(router.servingName("openai/o3"), "openai/*");
  assert.equal(router.servingName("openai"), "*");
  // The same name keeps the same deployment object (prices are cached per deployment).
  assert.equal(router.deployments("openai/o3")[0], router.deployments("openai/o3")[0]);
  assert.deepEqual(router.names(), [
    "*",
    "openai/*",
    "acme/*",
    "fo::*:static::*",
    "pinned/*",
    "openai/gpt-4o",
  ]);
  // Without a `*` entry, unmatched names are unknown.
  const narrow = new ModelRouter([{ name: "openai/*", provider: "mock", model: "*" } as never]);
  assert.deepEqual(narrow.deployments("gpt-4o"), []);
  assert.deepEqual(narrow.deployments("openai"), []);
  // Entries sharing a pattern share one round robin, whatever name each call asks for.
  const pool = new ModelRouter([
    { name: "*", id: "one", provider: "mock", model: "*" } as never,
    { name: "*", id: "two", provider: "mock", model: "*" } as never,
  ]);
  const served: string[] = [];
  for (const model of ["x", "y", "x", "z"]) {
    const routed = await pool.send(
      model,
      { callType: "chat", body: { model, messages: hi }, stream: false, headers: {} },
      new AbortController().signal,
    );
    routed.done();
    served.push(`${routed.deployment.id}:${routed.deployment.upstreamModel}`);
  }
  assert.deepEqual(served, ["one:x", "two:y", "one:x", "two:z"]);
  pool.close();
  // More captures than the model has `*`s: the requested name as is (LiteLLM's rule).
  assert.equal(upstreamModelFor("x/*", ["a", "b"], "a-b"), "a-b");
  router.close();
  narrow.close();
});

Deno.test("config: keys may name patterns; a `*` in model alone is a warning", async () => {
  const { config, problems } = await checkConfig({
    models: [
      { name: "openai/*", provider: "mock", model: "*" },
      { name: "fixed", provider: "mock", model: "a-*" },
    ],
    keys: [
      { key: "sk-1", models: ["openai/*", "openai/gpt-4o", "openai/o*", "nothing/*", "other"] },
    ],
  });
  assert.ok(config);
  assert.deepEqual(problems.map((p) => p.path).sort(), [
    "keys[0].models[3]",
    "keys[0].models[4]",
    "models[1].model",
  ]);
});

Deno.test('a LiteLLM config.yaml with model_name "*" and provider wildcards, through loadConfig', async () => {
  const any = startUpstream();
  const openai = startUpstream();
  const dir = await Deno.makeTempDir({ prefix: "sluice-litellm-wild-" });
  const file = `${dir}/config.yaml`;
  await Deno.writeTextFile(
    file,
    stringify({
      model_list: [
        { model_name: "*", litellm_params: { model: "*", api_base: any.url, api_key: "sk-a" } },
        {
          model_name: "openai/*",
          litellm_params: { model: "openai/*", api_base: openai.url, api_key: "sk-o" },
        },
        {
          model_name: "fo::*:static::*",
          litellm_params: { model: "openai/fo::*:static::*", api_base: openai.url },
        },
      ],
    }),
  );
  const raw = { model_list: [{ model_name: "*", litellm_params: { model: "*" } }] };
  const checked = await checkConfig(raw);
  assert.deepEqual(checked.problems.map((p) => [p.severity, p.path]), [
    ["warning", "model_list[0].litellm_params.model"],
    ["warning", "models[0].api_key"],
  ]);
  assert.match(checked.problems[0].message, /names no provider.*"openai\/\*"/);

  const config = await loadConfig(file);
  assert.deepEqual(
    config.models.map((m) => [m.name, m.provider, m.model]),
    [["*", "openai", "*"], ["openai/*", "openai", "*"], [
      "fo::*:static::*",
      "openai",
      "fo::*:static::*",
    ]],
  );
  const gw = await startGateway({ ...config, server: { ...config.server, data_dir: dir } });
  try {
    const client = new OpenAI({ apiKey: "x", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({ model: "gpt-4o-mini", messages: hi });
    assert.equal(any.requests.at(-1)?.body?.model, "gpt-4o-mini");
    assert.equal(any.requests.at(-1)?.headers.authorization, "Bearer sk-a");
    await client.chat.completions.create({ model: "openai/gpt-4o", messages: hi });
    assert.equal(openai.requests.at(-1)?.body?.model, "gpt-4o");
    assert.equal(openai.requests.at(-1)?.headers.authorization, "Bearer sk-o");
    await client.chat.completions.create({ model: "fo::hi::static::hi", messages: hi });
    assert.equal(openai.requests.at(-1)?.body?.model, "fo::hi::static::hi");
    const listed = (await client.models.list()).data.map((m) => m.id);
    assert.deepEqual(listed, ["*", "openai/*", "fo::*:static::*"]);
    assert.equal((await client.models.retrieve("claude-3-5-haiku")).owned_by, "openai");
  } finally {
    await gw.close();
    await Promise.all([any.close(), openai.close()]);
    await Deno.remove(dir, { recursive: true });
  }
});
