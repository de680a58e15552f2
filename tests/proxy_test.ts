/**
 * The real `openai` client against Sluice, with a recording loopback upstream:
 * model mapping, credentials, stripped gateway fields, headers, Azure.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { chatCompletion, startUpstream } from "./fakes/upstream.ts";
import { startGateway } from "./fakes/gateway.ts";

Deno.test("chat completion: mapping, upstream credentials, stripped fields, headers", async () => {
  const upstream = startUpstream();
  const gw = await startGateway({
    models: [{
      name: "gpt-public",
      provider: "openai",
      model: "gpt-4o-mini-2024-07-18",
      api_base: upstream.url,
      api_key: "sk-upstream-secret-1234",
      headers: { "x-team": "blue" },
    }],
  });
  try {
    const client = new OpenAI({ apiKey: "client-key", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const { data, response } = await client.chat.completions.create({
      model: "gpt-public",
      messages: [{ role: "user", content: "Hi" }],
      temperature: 0.2,
      // deno-lint-ignore no-explicit-any
      ...({ metadata: { session_id: "s1" }, "no-log": false, mask_input: false } as any),
    }).withResponse();
    assert.equal(data.choices[0].message.content, "Hello from the fake upstream.");
    assert.equal(data.usage?.total_tokens, 18);

    const seen = upstream.requests[0];
    assert.equal(seen.path, "/v1/chat/completions");
    assert.equal(seen.body?.model, "gpt-4o-mini-2024-07-18");
    assert.equal(seen.headers.authorization, "Bearer sk-upstream-secret-1234");
    assert.equal(seen.headers["x-team"], "blue");
    assert.equal(seen.body?.temperature, 0.2);
    for (const field of ["metadata", "no-log", "mask_input"]) {
      assert.ok(!(field in seen.body!), field);
    }

    const h = response.headers;
    assert.match(h.get("x-sluice-call-id")!, /^[0-9a-f-]{36}$/);
    assert.match(h.get("x-sluice-trace-id")!, /^[0-9a-f]{32}$/);
    assert.match(h.get("x-sluice-model-id")!, /^[0-9a-f]{12}$/);
    assert.equal(h.get("x-sluice-api-base"), upstream.url);
    assert.match(h.get("x-sluice-version")!, /^\d+\.\d+\.\d+/);
    // gpt-4o-mini's built-in price: 11 * 1.5e-7 + 7 * 6e-7
    assert.ok(Math.abs(Number(h.get("x-sluice-response-cost")) - (11 * 1.5e-7 + 7 * 6e-7)) < 1e-12);
    assert.ok(Number(h.get("x-sluice-overhead-ms")) >= 0);
  } finally {
    await gw.close();
    await upstream.close();
  }
});

Deno.test("forward_metadata keeps gateway fields; client call id and traceparent are used", async () => {
  const upstream = startUpstream();
  const gw = await startGateway({
    models: [{ name: "m", provider: "openai", api_base: upstream.url, forward_metadata: true }],
    controls: { forward_traceparent_to_llm_provider: true },
  });
  try {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-sluice-call-id": "client-call.42",
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      },
      body: JSON.stringify({
        model: "m",
        messages: [{ role: "user", content: "x" }],
        metadata: { a: 1 },
      }),
    });
    await res.body?.cancel();
    assert.equal(res.headers.get("x-sluice-call-id"), "client-call.42");
    assert.equal(res.headers.get("x-sluice-trace-id"), "0af7651916cd43dd8448eb211c80319c");
    const seen = upstream.requests[0];
    assert.deepEqual(seen.body?.metadata, { a: 1 });
    assert.match(seen.headers.traceparent, /^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
    assert.ok(
      !seen.headers.traceparent.includes("b7ad6b7169203331"),
      "a new span id, not the client's",
    );

    const bad = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-litellm-call-id": "not valid!" },
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "x" }] }),
    });
    await bad.body?.cancel();
    assert.match(bad.headers.get("x-sluice-call-id")!, /^[0-9a-f-]{36}$/);
  } finally {
    await gw.close();
    await upstream.close();
  }
});

Deno.test("round-robin across entries sharing a name", async () => {
  const a = startUpstream(chatCompletion("from a"));
  const b = startUpstream(chatCompletion("from b"));
  const gw = await startGateway({
    models: [
      { name: "pool", provider: "openai", api_base: a.url },
      { name: "pool", provider: "openai", api_base: b.url },
    ],
  });
  try {
    const client = new OpenAI({ apiKey: "k", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const answers = [];
    for (let i = 0; i < 4; i++) {
      const r = await client.chat.completions.create({
        model: "pool",
        messages: [{ role: "user", content: "x" }],
      });
      answers.push(r.choices[0].message.content);
    }
    assert.deepEqual(answers, ["from a", "from b", "from a", "from b"]);
  } finally {
    await gw.close();
    await a.close();
    await b.close();
  }
});

Deno.test("embeddings (float and base64) and completions through the openai client", async () => {
  const upstream = startUpstream();
  const gw = await startGateway({
    models: [
      {
        name: "embed",
        provider: "openai",
        model: "text-embedding-3-small",
        api_base: upstream.url,
      },
      { name: "mock-embed", provider: "mock" },
      { name: "mock-gpt", provider: "mock" },
    ],
  });
  try {
    const client = new OpenAI({ apiKey: "k", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const floats = await client.embeddings.create({
      model: "embed",
      input: "hello",
      encoding_format: "float",
    });
    assert.deepEqual(floats.data[0].embedding, [0.1, 0.2, 0.3]);
    assert.equal(upstream.requests[0].path, "/v1/embeddings");
    assert.equal(upstream.requests[0].body?.model, "text-embedding-3-small");

    // The client asks for base64 by default and decodes it.
    const mock = await client.embeddings.create({
      model: "mock-embed",
      input: ["a", "b"],
      dimensions: 16,
    });
    assert.equal(mock.data.length, 2);
    assert.equal(mock.data[0].embedding.length, 16);
    const norm = Math.hypot(...mock.data[0].embedding);
    assert.ok(Math.abs(norm - 1) < 1e-5, `unit vector, got norm ${norm}`);
    const again = await client.embeddings.create({
      model: "mock-embed",
      input: "a",
      dimensions: 16,
    });
    assert.deepEqual(again.data[0].embedding, mock.data[0].embedding, "deterministic");

    const completion = await client.completions.create({ model: "mock-gpt", prompt: "Say hi" });
    assert.match(completion.choices[0].text, /mock model/);
    assert.ok(completion.usage!.prompt_tokens > 0);
  } finally {
    await gw.close();
    await upstream.close();
  }
});

Deno.test("models list, filtered by the key's allowed models", async () => {
  const gw = await startGateway({
    server: { master_key: "sk-master-000" },
    models: [{ name: "a", provider: "mock" }, { name: "b", provider: "mock" }, {
      name: "a",
      provider: "mock",
    }],
    keys: [{ key: "sk-only-a-111", alias: "only-a", models: ["a"] }],
  });
  try {
    const master = new OpenAI({ apiKey: "sk-master-000", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const all = [];
    for await (const m of master.models.list()) all.push(m.id);
    assert.deepEqual(all, ["a", "b"]);
    const limited = new OpenAI({ apiKey: "sk-only-a-111", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const some = [];
    for await (const m of limited.models.list()) some.push(m.id);
    assert.deepEqual(some, ["a"]);
    await assert.rejects(
      limited.chat.completions.create({ model: "b", messages: [{ role: "user", content: "x" }] }),
      // A model hidden from the key answers like one that does not exist.
      (e: InstanceType<typeof OpenAI.APIError>) =>
        e.status === 404 && e.code === "model_not_found" &&
        /Available models: a\.$/.test(e.message),
    );
  } finally {
    await gw.close();
  }
});

Deno.test("Azure: deployment URL, api-version and api-key header", async () => {
  const upstream = startUpstream();
  const base = upstream.url.replace(/\/v1$/, "");
  const gw = await startGateway({
    models: [
      {
        name: "az",
        provider: "azure",
        model: "my-deploy",
        api_base: base,
        api_key: "azure-key-123",
        api_version: "2024-10-21",
      },
      {
        name: "az-v1",
        provider: "azure",
        model: "gpt-4o",
        api_base: base,
        api_key: "azure-key-123",
        api_version: "v1",
      },
    ],
  });
  try {
    const client = new OpenAI({ apiKey: "k", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({
      model: "az",
      messages: [{ role: "user", content: "x" }],
    });
    await client.chat.completions.create({
      model: "az-v1",
      messages: [{ role: "user", content: "x" }],
    });
    const [deployments, v1] = upstream.requests;
    assert.equal(
      deployments.path,
      "/openai/deployments/my-deploy/chat/completions?api-version=2024-10-21",
    );
    assert.equal(deployments.headers["api-key"], "azure-key-123");
    assert.equal(deployments.headers.authorization, undefined);
    assert.equal(v1.path, "/openai/v1/chat/completions");
    assert.equal(v1.body?.model, "gpt-4o");
  } finally {
    await gw.close();
    await upstream.close();
  }
});

Deno.test("Anthropic through the gateway: the openai client gets OpenAI shapes, streamed and not", async () => {
  const encoder = new TextEncoder();
  const upstream = startUpstream((req) => {
    if (!req.body?.stream) {
      return Response.json({
        id: "msg_01",
        type: "message",
        role: "assistant",
        model: "claude-3-5-haiku-20241022",
        content: [{ type: "text", text: "Bonjour!" }],
        stop_reason: "end_turn",
        usage: { input_tokens: 12, output_tokens: 4 },
      });
    }
    const events: [string, unknown][] = [
      ["message_start", {
        type: "message_start",
        message: {
          id: "msg_02",
          model: "claude-3-5-haiku-20241022",
          usage: { input_tokens: 12, output_tokens: 1 },
        },
      }],
      ["content_block_start", {
        type: "content_block_start",
        index: 0,
        content_block: { type: "text", text: "" },
      }],
      ["content_block_delta", {
        type: "content_block_delta",
        index: 0,
        delta: { type: "text_delta", text: "Bon" },
      }],
      ["content_block_delta", {
        type: "content_block_delta",
        index: 0,
        delta: { type: "text_delta", text: "jour!" },
      }],
      ["content_block_stop", { type: "content_block_stop", index: 0 }],
      ["message_delta", {
        type: "message_delta",
        delta: { stop_reason: "end_turn" },
        usage: { output_tokens: 4 },
      }],
      ["message_stop", { type: "message_stop" }],
    ];
    const body = events.map(([name, data]) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`)
      .join("");
    return new Response(encoder.encode(body), { headers: { "content-type": "text/event-stream" } });
  });
  const gw = await startGateway({
    models: [{
      name: "claude",
      provider: "anthropic",
      model: "claude-3-5-haiku-20241022",
      api_base: upstream.url.replace(/\/v1$/, ""),
      api_key: "sk-ant-test-key",
    }],
  });
  try {
    const client = new OpenAI({ apiKey: "k", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const { data, response } = await client.chat.completions.create({
      model: "claude",
      messages: [{ role: "system", content: "Answer in French." }, {
        role: "user",
        content: "Hello",
      }],
      max_tokens: 50,
    }).withResponse();
    assert.equal(data.choices[0].message.content, "Bonjour!");
    assert.equal(data.choices[0].finish_reason, "stop");
    assert.equal(data.usage?.prompt_tokens, 12);
    // claude-3-5-haiku: 12 * 8e-7 + 4 * 4e-6
    assert.ok(
      Math.abs(Number(response.headers.get("x-sluice-response-cost")) - (12 * 8e-7 + 4 * 4e-6)) <
        1e-12,
    );
    const sent = upstream.requests[0];
    assert.equal(sent.path, "/v1/messages");
    assert.equal(sent.headers["x-api-key"], "sk-ant-test-key");
    assert.equal(sent.body?.system, "Answer in French.");
    assert.deepEqual(sent.body?.messages, [{ role: "user", content: "Hello" }]);

    const stream = await client.chat.completions.create({
      model: "claude",
      messages: [{ role: "user", content: "Hello" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, "Bonjour!");
    assert.equal(usage?.completion_tokens, 4);
  } finally {
    await gw.close();
    await upstream.close();
  }
});

Deno.test("the client's body bytes go upstream as they are when nothing in them must change", async () => {
  const upstream = startUpstream();
  const gw = await startGateway({
    models: [
      { name: "same", provider: "openai", model: "same", api_base: upstream.url },
      { name: "public", provider: "openai", model: "upstream-id", api_base: upstream.url },
    ],
  });
  // Spacing, key order and escapes that a re-encoding would change.
  const text = (model: string, extra = "") =>
    `{ "messages" : [ {"role":"user","content":"caf\\u00e9 \\/ ok"} ],\n  "model":"${model}"${extra} }`;
  const post = (body: string) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    }).then((r) => r.text());
  try {
    await post(text("same"));
    assert.equal(upstream.requests[0].text, text("same"), "forwarded byte for byte");

    await post(text("public"));
    assert.equal(upstream.requests[1].body?.model, "upstream-id", "the model id is rewritten");

    await post(text("same", `, "metadata": {"session_id": "s"}`));
    assert.equal(upstream.requests[2].body?.metadata, undefined, "gateway fields are removed");

    await post(text("same", `, "stream": true`));
    assert.deepEqual(
      upstream.requests[3].body?.stream_options,
      { include_usage: true },
      "a stream asks for usage",
    );

    // A repeated key: the gateway routes on the last "model"; a first-wins upstream must not
    // read another one, so such a body is encoded again.
    await post(`{"model":"elsewhere","messages":[{"role":"user","content":"x"}],"model":"same"}`);
    assert.equal(upstream.requests[4].text.match(/"model"/g)?.length, 1);
    assert.equal(upstream.requests[4].body?.model, "same");

    // A byte-order mark is not forwarded.
    await post(`\ufeff${text("same")}`);
    assert.ok(!upstream.requests[5].text.startsWith("\ufeff"));
  } finally {
    await gw.close();
    await upstream.close();
  }
});
