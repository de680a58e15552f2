/**
 * Calls on the translated routes reach the sinks like chat calls: a real
 * gateway on loopback with the embedded mock, an otel sink (OTLP/JSON) and
 * two langfuse sinks (OTLP/JSON and the batch ingestion API) at the loopback
 * receivers the otel and langfuse gateway tests use; one `responses.create`
 * with a function tool (the `openai` client) and one `messages.create` with
 * a tool (the Anthropic SDK). Each sink gets the messages, the tool
 * definitions, the tool call and the usage; bodies are validated against
 * the OTLP, GenAI and Langfuse ingestion schemas.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import Anthropic from "npm:@anthropic-ai/sdk@1.17.0";
import { startGateway } from "./fakes/gateway.ts";
import { startOtlpReceiver, valueOf } from "../plugins/otel/testdata/otlp_receiver.ts";
import {
  assertGenAiAttributeTypes,
  assertGenAiJson,
  assertOtlpJson,
} from "../plugins/otel/testdata/schemas.ts";
import {
  type IngestionEventJson,
  jsonAttribute,
  type LangfuseReceiver,
  type ReceivedSpan,
  startLangfuseReceiver,
  TEST_PUBLIC_KEY,
  TEST_SECRET_KEY,
} from "../plugins/langfuse/test_support.ts";
import { until } from "../core/testing.ts";

const CITY_SCHEMA = {
  type: "object",
  properties: { city: { type: "string" } },
  required: ["city"],
  additionalProperties: false,
};
/** The one tool, in Chat Completions' shape (what Langfuse shows). */
const CHAT_TOOL = {
  type: "function",
  function: { name: "get_weather", description: "The weather in a city", parameters: CITY_SCHEMA },
};
/** The one tool, as `gen_ai.tool.definitions`. */
const GENAI_TOOL = {
  type: "function",
  name: "get_weather",
  description: "The weather in a city",
  parameters: CITY_SCHEMA,
};

/** The langfuse span of a call type, once it arrived. */
async function langfuseSpan(rx: LangfuseReceiver, callType: string): Promise<ReceivedSpan> {
  let found: ReceivedSpan | undefined;
  await until(
    () =>
      (found = rx.spans().find((s) => s.attributes["sluice.call_type"] === callType)) !==
        undefined,
    10_000,
    `the langfuse span of the ${callType} call`,
  );
  return found!;
}

/** The generation-create of a call type, once it was stored. */
async function generationOf(rx: LangfuseReceiver, callType: string): Promise<IngestionEventJson> {
  let found: IngestionEventJson | undefined;
  await until(
    () =>
      (found = rx.stored().find((e) =>
        e.type === "generation-create" && e.body.metadata?.call_type === callType
      )) !== undefined,
    10_000,
    `the generation of the ${callType} call`,
  );
  return found!;
}

Deno.test("responses and messages calls reach otel and langfuse with their messages, tools and usage", async () => {
  const otel = startOtlpReceiver();
  const lfOtlp = startLangfuseReceiver();
  const lfIngestion = startLangfuseReceiver();
  const keys = { public_key: TEST_PUBLIC_KEY, secret_key: TEST_SECRET_KEY };
  const gw = await startGateway({
    models: [{ name: "mock-model", provider: "mock" }],
    sinks: [
      {
        name: "otel",
        use: "otel",
        config: { endpoint: otel.base, protocol: "http/json" },
        queue: { flush_interval_ms: 10 },
      },
      {
        name: "lf-otlp",
        use: "langfuse",
        config: { ...keys, host: lfOtlp.host, protocol: "http/json" },
        queue: { flush_interval_ms: 10 },
      },
      {
        name: "lf-ingestion",
        use: "langfuse",
        config: { ...keys, host: lfIngestion.host, transport: "ingestion" },
        queue: { flush_interval_ms: 10 },
      },
    ],
  });
  try {
    // The Responses API, with a function tool the prompt names: the mock calls it.
    const openai = new OpenAI({ apiKey: "anything", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const response = await openai.responses.create({
      model: "mock-model",
      instructions: "Answer briefly.",
      input: "What is the weather in Paris? Use get_weather.",
      max_output_tokens: 100,
      tools: [{
        type: "function",
        name: "get_weather",
        description: "The weather in a city",
        parameters: CITY_SCHEMA,
        strict: true,
      }],
    });
    const call = response.output.find((item) => item.type === "function_call");
    assert.ok(call && call.type === "function_call", "the mock called the tool");
    assert.equal(call.name, "get_weather");
    const responsesUsage = response.usage!;

    // The Anthropic Messages API, with a tool.
    const anthropic = new Anthropic({ apiKey: "anything", baseURL: gw.url, maxRetries: 0 });
    const message = await anthropic.messages.create({
      model: "mock-model",
      max_tokens: 200,
      system: "Answer briefly.",
      messages: [{ role: "user", content: "What is the weather in Oslo? Use get_weather." }],
      tools: [{
        name: "get_weather",
        description: "The weather in a city",
        input_schema: CITY_SCHEMA as Anthropic.Tool.InputSchema,
      }],
    });
    const toolUse = message.content.find((block) => block.type === "tool_use");
    assert.ok(toolUse && toolUse.type === "tool_use", "the mock called the tool");
    assert.equal(message.stop_reason, "tool_use");

    const calls = [
      {
        callType: "responses",
        user: "What is the weather in Paris? Use get_weather.",
        toolCallId: call.call_id,
        input: responsesUsage.input_tokens,
        output: responsesUsage.output_tokens,
        maxTokens: 100,
      },
      {
        callType: "messages",
        user: "What is the weather in Oslo? Use get_weather.",
        toolCallId: toolUse.id,
        input: message.usage.input_tokens,
        output: message.usage.output_tokens,
        maxTokens: 200,
      },
    ];

    // otel: one GenAI chat span per call, content in the conventions' shape.
    await until(() => otel.spans().length === 2, 10_000, "two spans at the otel receiver");
    for (const exported of otel.accepted) assertOtlpJson(exported.rawJson);
    for (const c of calls) {
      const found = otel.spans().find((s) =>
        valueOf(s.attributes["sluice.call_type"]) === c.callType
      );
      assert.ok(found, `the span of the ${c.callType} call`);
      const { span, attributes: a } = found;
      assertGenAiAttributeTypes(a);
      assert.equal(span.name, "chat mock-model");
      assert.equal(span.kind, 3);
      assert.equal(valueOf(a["gen_ai.operation.name"]), "chat");
      assert.equal(valueOf(a["gen_ai.provider.name"]), "sluice.mock");
      assert.equal(valueOf(a["gen_ai.request.model"]), "mock-model");
      assert.equal(valueOf(a["gen_ai.request.max_tokens"]), c.maxTokens);
      assert.equal(valueOf(a["gen_ai.usage.input_tokens"]), c.input);
      assert.equal(valueOf(a["gen_ai.usage.output_tokens"]), c.output);
      assert.deepEqual(valueOf(a["gen_ai.response.finish_reasons"]), ["tool_calls"]);
      assert.deepEqual(
        assertGenAiJson("gen_ai.system_instructions", valueOf(a["gen_ai.system_instructions"])),
        [{ type: "text", content: "Answer briefly." }],
      );
      assert.deepEqual(
        assertGenAiJson("gen_ai.input.messages", valueOf(a["gen_ai.input.messages"])),
        [{ role: "user", parts: [{ type: "text", content: c.user }] }],
      );
      const output = assertGenAiJson(
        "gen_ai.output.messages",
        valueOf(a["gen_ai.output.messages"]),
      ) as { role: string; parts: Record<string, unknown>[]; finish_reason: string }[];
      assert.equal(output.length, 1);
      assert.equal(output[0].finish_reason, "tool_call");
      const toolCall = output[0].parts.find((p) => p.type === "tool_call");
      assert.deepEqual(toolCall && { id: toolCall.id, name: toolCall.name }, {
        id: c.toolCallId,
        name: "get_weather",
      });
      assert.deepEqual(
        assertGenAiJson("gen_ai.tool.definitions", valueOf(a["gen_ai.tool.definitions"])),
        [GENAI_TOOL],
      );
    }

    // langfuse over OTLP: a generation span per call, input {messages, tools}.
    for (const c of calls) {
      const span = await langfuseSpan(lfOtlp, c.callType);
      const a = span.attributes;
      assert.equal(a["langfuse.observation.type"], "generation");
      assert.equal(a["gen_ai.operation.name"], "chat");
      assert.equal(a["gen_ai.usage.input_tokens"], c.input);
      assert.equal(a["gen_ai.usage.output_tokens"], c.output);
      assert.equal(a["langfuse.trace.name"], `sluice-${c.callType}`);
      const input = jsonAttribute(a["langfuse.observation.input"]) as {
        messages: { role: string; content: unknown }[];
        tools: unknown[];
      };
      assert.deepEqual(input.messages, [
        { role: "system", content: "Answer briefly." },
        { role: "user", content: c.user },
      ]);
      assert.equal(input.tools.length, 1);
      assert.deepEqual(
        (input.tools[0] as typeof CHAT_TOOL).function.name,
        "get_weather",
      );
      const output = jsonAttribute(a["langfuse.observation.output"]) as {
        role: string;
        tool_calls: { id: string; function: { name: string } }[];
      };
      assert.equal(output.role, "assistant");
      assert.equal(output.tool_calls[0].id, c.toolCallId);
      assert.equal(output.tool_calls[0].function.name, "get_weather");
      const usage = jsonAttribute(a["langfuse.observation.usage_details"]) as Record<
        string,
        number
      >;
      assert.equal(usage.output, c.output);
    }

    // langfuse over the ingestion API: the same generation, schema-checked by the receiver.
    for (const c of calls) {
      const generation = await generationOf(lfIngestion, c.callType);
      const body = generation.body;
      assert.equal(body.name, `sluice-${c.callType}`);
      assert.equal(body.model, "mock-model");
      assert.deepEqual(body.input.messages, [
        { role: "system", content: "Answer briefly." },
        { role: "user", content: c.user },
      ]);
      const tool = body.input.tools[0];
      assert.equal(tool.type, "function");
      assert.equal(tool.function.name, "get_weather");
      assert.deepEqual(tool.function.parameters, CITY_SCHEMA);
      assert.equal(tool.function.description, "The weather in a city");
      assert.equal(body.output.tool_calls[0].id, c.toolCallId);
      assert.equal(body.usageDetails.output, c.output);
      assert.equal(body.modelParameters.system, undefined, "the system prompt is in the input");
      assert.equal(body.modelParameters.instructions, undefined);
    }
    assert.deepEqual(lfOtlp.problems(), []);
    assert.deepEqual(lfIngestion.problems(), []);
  } finally {
    await gw.close();
    await Promise.all([otel.close(), lfOtlp.close(), lfIngestion.close()]);
  }
});
