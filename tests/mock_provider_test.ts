/**
 * The embedded mock plays along (#16 item 4): tool calls when the prompt
 * names a tool (and text after the result), `n` choices, and JSON for
 * `response_format` — through a real gateway on loopback, with the OpenAI
 * SDK, streamed and not, and the logged event checked.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import type { ChatCompletionTool } from "openai/resources/chat/completions";
import { Ajv2020 } from "npm:ajv@8.17.1/dist/2020.js";
import addFormatsModule from "npm:ajv-formats@3.0.1";
import { until } from "../core/testing.ts";
import { instanceOf } from "../core/providers/mock_instance.ts";
import { readJsonlEvents, startGateway, type TestGateway } from "./fakes/gateway.ts";

// ajv-formats is CommonJS: its default export is the plugin function itself.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/** Whether `value` is valid against `schema`, with ajv's errors as the message when not. */
function assertValid(schema: unknown, value: unknown): void {
  const ajv = addFormats(new Ajv2020({ strict: false }));
  const validate = ajv.compile(schema as object);
  assert.ok(validate(value), `${JSON.stringify(value)}: ${ajv.errorsText(validate.errors)}`);
}

const WEATHER = {
  type: "object",
  properties: {
    location: { type: "string", minLength: 6 },
    unit: { type: "string", enum: ["celsius", "fahrenheit"] },
    days: { type: "integer", minimum: 1, maximum: 7 },
    note: { type: "string" },
  },
  required: ["location", "unit", "days"],
  additionalProperties: false,
};

const TOOLS: ChatCompletionTool[] = [
  { type: "function", function: { name: "get_time", parameters: { type: "object" } } },
  { type: "function", function: { name: "get_weather", parameters: WEATHER } },
];

const ASK = [{ role: "user" as const, content: "What is the weather in Paris? Use get_weather." }];

interface Harness {
  gw: TestGateway;
  client: OpenAI;
  dir: string;
  /** The logged events once `count` are written. */
  events(count: number): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

async function harness(): Promise<Harness> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-mock-" });
  const gw = await startGateway({
    models: [{ name: "mock-gpt", provider: "mock" }],
    sinks: [{ use: "jsonl", config: { dir }, queue: { flush_interval_ms: 10 } }],
  });
  const client = new OpenAI({ apiKey: "none", baseURL: `${gw.url}/v1`, maxRetries: 0 });
  return {
    gw,
    client,
    dir,
    async events(count) {
      let events: Record<string, unknown>[] = [];
      await until(
        async () => (events = await readJsonlEvents(dir)).length >= count,
        5_000,
        "events",
      );
      return events;
    },
    async close() {
      await gw.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** The tool calls of an assistant message as `{ id, name, arguments }`. */
function callsOf(message: { tool_calls?: unknown[] | null }): unknown[] {
  // deno-lint-ignore no-explicit-any
  return (message.tool_calls ?? []).map((t: any) => ({
    id: t.id,
    name: t.function.name,
    arguments: t.function.arguments,
  }));
}

/** Drains a raw chunk stream. */
async function chunksOf<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const chunks: T[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

Deno.test("a prompt naming a tool gets one deterministic call whose arguments match the schema", async () => {
  const h = await harness();
  try {
    const first = await h.client.chat.completions.create({
      model: "mock-gpt",
      messages: ASK,
      tools: TOOLS,
    });
    const choice = first.choices[0];
    assert.equal(choice.finish_reason, "tool_calls");
    assert.equal(choice.message.content, null);
    assert.equal(choice.message.tool_calls?.length, 1);
    const call = choice.message.tool_calls![0];
    assert.equal(call.type, "function");
    assert.ok(call.type === "function");
    assert.equal(call.function.name, "get_weather");
    assert.match(call.id, /^call_[0-9a-f]{16}$/);
    const args = JSON.parse(call.function.arguments);
    assertValid(WEATHER, args);
    assert.deepEqual(args, { location: "mockxx", unit: "celsius", days: 1 });

    const again = await h.client.chat.completions.create({
      model: "mock-gpt",
      messages: ASK,
      tools: TOOLS,
    });
    assert.deepEqual(again.choices[0].message.tool_calls, choice.message.tool_calls);

    const events = await h.events(2);
    // deno-lint-ignore no-explicit-any
    const e = events[0] as Record<string, any>;
    assert.equal(e.status, "success");
    assert.deepEqual(e.finish_reasons, ["tool_calls"]);
    assert.deepEqual(e.response.tool_calls, choice.message.tool_calls);
    assert.ok(e.completion_tokens > 0);
  } finally {
    await h.close();
  }
});

Deno.test("a streamed tool call arrives as deltas with the arguments in pieces, then usage", async () => {
  const h = await harness();
  try {
    const plain = await h.client.chat.completions.create({
      model: "mock-gpt",
      messages: ASK,
      tools: TOOLS,
    });
    const chunks = await chunksOf(
      await h.client.chat.completions.create({
        model: "mock-gpt",
        messages: ASK,
        tools: TOOLS,
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    const pieces = chunks.flatMap((c) =>
      c.choices.flatMap((ch) => ch.delta.tool_calls ?? []).map((t) => t.function?.arguments ?? "")
    ).filter(Boolean);
    assert.ok(pieces.length > 3, `arguments in ${pieces.length} pieces`);
    const head = chunks[0].choices[0].delta.tool_calls![0];
    assert.equal(head.function?.name, "get_weather");
    const finishes = chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter(Boolean);
    assert.deepEqual(finishes, ["tool_calls"]);
    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.deepEqual(last.usage, plain.usage);

    // The SDK's own accumulator assembles the same call as the non-stream answer.
    const final = await h.client.chat.completions
      .stream({ model: "mock-gpt", messages: ASK, tools: TOOLS })
      .finalChatCompletion();
    assert.equal(final.choices[0].finish_reason, "tool_calls");
    assert.deepEqual(callsOf(final.choices[0].message), callsOf(plain.choices[0].message));

    const events = await h.events(3);
    // deno-lint-ignore no-explicit-any
    const streamed = events.filter((e) => e.stream) as Record<string, any>[];
    assert.equal(streamed.length, 2);
    for (const e of streamed) {
      assert.deepEqual(e.finish_reasons, ["tool_calls"]);
      assert.deepEqual(e.response.tool_calls, plain.choices[0].message.tool_calls);
    }
  } finally {
    await h.close();
  }
});

Deno.test("after the tool result the mock answers with text quoting it (runTools round trip)", async () => {
  const h = await harness();
  try {
    const seen: unknown[] = [];
    const runner = h.client.chat.completions.runTools({
      model: "mock-gpt",
      messages: ASK,
      tools: [{
        type: "function",
        function: {
          name: "get_weather",
          description: "The weather at a place",
          parameters: WEATHER,
          parse: JSON.parse,
          function: (args: unknown) => {
            seen.push(args);
            return { temperature: 21, sky: "clear" };
          },
        },
      }],
    });
    const content = await runner.finalContent();
    assert.deepEqual(seen, [{ location: "mockxx", unit: "celsius", days: 1 }]);
    assert.match(content!, /get_weather returned "\{"temperature":21,"sky":"clear"\}"/);
    assert.equal(runner.allChatCompletions().length, 2);
    assert.equal(runner.allChatCompletions()[1].choices[0].finish_reason, "stop");

    const events = await h.events(2);
    // deno-lint-ignore no-explicit-any
    const answer = events.find((e) => (e.messages as unknown[]).length === 3) as any;
    assert.equal(answer.messages[2].role, "tool");
    assert.deepEqual(answer.finish_reasons, ["stop"]);
    assert.match(answer.response.content, /temperature/);
  } finally {
    await h.close();
  }
});

Deno.test("tool_choice: none answers text, required calls, a named function is called, an unknown one is a 400", async () => {
  const h = await harness();
  try {
    const create = (tool_choice: OpenAI.Chat.ChatCompletionToolChoiceOption, content: string) =>
      h.client.chat.completions.create({
        model: "mock-gpt",
        messages: [{ role: "user", content }],
        tools: TOOLS,
        tool_choice,
      });
    const none = await create("none", "Use get_weather please");
    assert.equal(none.choices[0].finish_reason, "stop");
    assert.match(none.choices[0].message.content!, /mock model/);

    const auto = await create("auto", "Just say hello");
    assert.equal(auto.choices[0].finish_reason, "stop");

    const required = await create("required", "Just say hello");
    const firstTool = required.choices[0].message.tool_calls![0];
    assert.ok(firstTool.type === "function" && firstTool.function.name === "get_time");
    assert.equal(firstTool.function.arguments, "{}");

    const named = await create(
      { type: "function", function: { name: "get_weather" } },
      "Just say hello",
    );
    const weather = named.choices[0].message.tool_calls![0];
    assert.ok(weather.type === "function" && weather.function.name === "get_weather");

    // Names match as whole words only: "get_weathers" is not "get_weather".
    const near = await create("auto", "What do get_weathers do?");
    assert.equal(near.choices[0].finish_reason, "stop");

    const error = await create(
      { type: "function", function: { name: "nope" } },
      "hi",
    ).catch((e) => e);
    assert.ok(error instanceof OpenAI.BadRequestError);
    assert.equal(error.param, "tool_choice");
  } finally {
    await h.close();
  }
});

Deno.test("legacy functions get a function_call, streamed and not", async () => {
  const h = await harness();
  try {
    const body = {
      model: "mock-gpt",
      messages: [{ role: "user", content: "call get_weather now" }],
      functions: [{ name: "get_weather", parameters: WEATHER }],
    };
    const res = await fetch(`${h.gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const json = await res.json();
    assert.equal(json.choices[0].finish_reason, "function_call");
    assert.equal(json.choices[0].message.function_call.name, "get_weather");
    assertValid(WEATHER, JSON.parse(json.choices[0].message.function_call.arguments));

    const stream = await fetch(`${h.gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...body, stream: true }),
    });
    const text = await stream.text();
    const deltas = text.split("\n").filter((l) => l.startsWith("data: {"))
      .map((l) => JSON.parse(l.slice(6)).choices[0]);
    const args = deltas.map((c) => c.delta.function_call?.arguments ?? "").join("");
    assert.equal(args, json.choices[0].message.function_call.arguments);
    assert.equal(deltas.at(-1).finish_reason, "function_call");
  } finally {
    await h.close();
  }
});

Deno.test("n=3 gives three choices, streamed and not; usage counts them all", async () => {
  const h = await harness();
  try {
    const messages = [{ role: "user" as const, content: "Hello" }];
    const one = await h.client.chat.completions.create({ model: "mock-gpt", messages });
    const three = await h.client.chat.completions.create({ model: "mock-gpt", messages, n: 3 });
    assert.deepEqual(three.choices.map((c) => c.index), [0, 1, 2]);
    assert.equal(three.choices[0].message.content, one.choices[0].message.content);
    assert.equal(new Set(three.choices.map((c) => c.message.content)).size, 3);
    assert.ok(three.usage!.completion_tokens > 2 * one.usage!.completion_tokens);
    assert.equal(three.usage!.prompt_tokens, one.usage!.prompt_tokens);

    const chunks = await chunksOf(
      await h.client.chat.completions.create({
        model: "mock-gpt",
        messages,
        n: 3,
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    const texts = ["", "", ""];
    const finishes: (string | null)[] = [null, null, null];
    for (const chunk of chunks) {
      for (const c of chunk.choices) {
        texts[c.index] += c.delta.content ?? "";
        finishes[c.index] ??= c.finish_reason;
      }
    }
    assert.deepEqual(texts, three.choices.map((c) => c.message.content));
    assert.deepEqual(finishes, ["stop", "stop", "stop"]);
    assert.deepEqual(chunks.at(-1)!.usage, three.usage);

    // The same tool call in every choice, each with its own id.
    const calls = await h.client.chat.completions.create({
      model: "mock-gpt",
      messages: ASK,
      tools: TOOLS,
      n: 2,
    });
    const ids = calls.choices.map((c) => c.message.tool_calls![0].id);
    assert.equal(new Set(ids).size, 2);

    const completions = await h.client.completions.create({
      model: "mock-gpt",
      prompt: "Hello",
      n: 2,
    });
    assert.deepEqual(completions.choices.map((c) => c.index), [0, 1]);
    const streamed = await chunksOf(
      await h.client.completions.create({
        model: "mock-gpt",
        prompt: "Hello",
        n: 2,
        stream: true,
      }),
    );
    const streamedTexts = streamed.flatMap((c) => c.choices).map((c) => c.text);
    assert.deepEqual(streamedTexts, completions.choices.map((c) => c.text));

    const events = await h.events(6);
    // deno-lint-ignore no-explicit-any
    const logged = events.find((e) => !e.stream && (e.finish_reasons as any)?.length === 3) as any;
    assert.equal(logged.response.length, 3);
    assert.equal(logged.completion_tokens, three.usage!.completion_tokens);
  } finally {
    await h.close();
  }
});

Deno.test("response_format json_object gives a JSON object; json_schema an instance of the schema", async () => {
  const h = await harness();
  try {
    const object = await h.client.chat.completions.create({
      model: "mock-gpt",
      messages: [{ role: "user", content: "Reply in JSON" }],
      response_format: { type: "json_object" },
    });
    const parsed = JSON.parse(object.choices[0].message.content!);
    assert.equal(typeof parsed, "object");
    assert.match(parsed.answer, /Reply in JSON/);

    const schema = {
      type: "object",
      $defs: {
        step: {
          type: "object",
          properties: { explanation: { type: "string" }, output: { type: "number" } },
          required: ["explanation", "output"],
          additionalProperties: false,
        },
      },
      properties: {
        steps: { type: "array", items: { $ref: "#/$defs/step" }, minItems: 2 },
        final_answer: { type: "string", maxLength: 3 },
        confidence: { type: "number", exclusiveMinimum: 0.5, maximum: 1 },
        kind: { anyOf: [{ type: "null" }, { type: "string", format: "date-time" }] },
        tags: { type: "array", items: { type: "string" } },
        status: { const: "ok" },
        when: { type: "string", format: "email" },
      },
      required: ["steps", "final_answer", "confidence", "kind", "tags", "status", "when"],
      additionalProperties: false,
    };
    const formatted = await h.client.chat.completions.create({
      model: "mock-gpt",
      messages: [{ role: "user", content: "Solve 8x + 7 = -23" }],
      response_format: { type: "json_schema", json_schema: { name: "math", schema, strict: true } },
    });
    const value = JSON.parse(formatted.choices[0].message.content!);
    assertValid(schema, value);
    assert.equal(value.steps.length, 2);

    const chunks = await chunksOf(
      await h.client.chat.completions.create({
        model: "mock-gpt",
        messages: [{ role: "user", content: "Solve 8x + 7 = -23" }],
        response_format: { type: "json_schema", json_schema: { name: "math", schema } },
        stream: true,
      }),
    );
    const streamed = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    assert.deepEqual(JSON.parse(streamed), value);
  } finally {
    await h.close();
  }
});

Deno.test("instanceOf: minimal instances validate against a range of schemas", () => {
  const schemas: unknown[] = [
    { type: "integer", exclusiveMinimum: 0 },
    { type: "integer", minimum: 3, multipleOf: 5 },
    { type: "number", minimum: 0.25, multipleOf: 0.1 },
    { type: "number", maximum: -2.5 },
    { type: "integer", exclusiveMaximum: -1 },
    { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 0.5 },
    { type: ["string", "null"], minLength: 10 },
    { type: "string", format: "uuid" },
    { type: "string", format: "date" },
    { type: "boolean" },
    { type: "null" },
    { enum: [3, "a"] },
    { oneOf: [{ type: "integer", minimum: 4 }, { type: "string" }] },
    { allOf: [{ properties: { a: { type: "string" } }, required: ["a"] }, { required: ["b"] }] },
    { type: "object", minProperties: 2, properties: { x: { type: "integer" }, y: {} } },
    { type: "array", prefixItems: [{ type: "string" }, { type: "integer" }], minItems: 3 },
    { $ref: "#/definitions/n", definitions: { n: { type: "integer", minimum: 9 } } },
    {
      $defs: {
        node: {
          type: "object",
          properties: { children: { type: "array", items: { $ref: "#/$defs/node" } } },
          required: ["children"],
        },
      },
      $ref: "#/$defs/node",
    },
    true,
  ];
  for (const schema of schemas) assertValid(schema, instanceOf(schema));
  assert.deepEqual(instanceOf(WEATHER), instanceOf(structuredClone(WEATHER)));
});
