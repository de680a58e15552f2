/**
 * `deno bench`: what translating a call costs the request thread, beside
 * what the pass-through of the same call does with the same bytes.
 *
 * - Responses, not streamed: the pass-through parses the request and
 *   serialises the upstream's answer; the translated route also builds the
 *   chat request (`responsesToChat`) and the Responses object from the chat
 *   answer (`buildResponse(turnOfChat(…))`).
 * - Messages, not streamed: the same with `messagesToChat` and
 *   `messageOfChat`.
 * - Streams: per chunk, the pass-through writes the chunk again; the
 *   translated stream turns each chat chunk into the route's events
 *   (`ResponsesStream`, `MessagesStream`), a 60-chunk answer per iteration.
 *
 * The request is a realistic agent turn: instructions, a short
 * conversation with a function call and its output, two function tools.
 * @module
 */
import { messagesToChat } from "../core/messages/request.ts";
import { messageOfChat, MessagesStream } from "../core/messages/response.ts";
import { responsesToChat } from "../core/responses/request.ts";
import { buildResponse, type ResponseFrame, turnOfChat } from "../core/responses/response.ts";
import { ResponsesStream } from "../core/responses/stream.ts";

const tool = (name: string) => ({
  type: "function",
  name,
  description: `Calls ${name}`,
  parameters: {
    type: "object",
    properties: { city: { type: "string" }, days: { type: "integer" } },
    required: ["city"],
  },
});

const responsesRequest = JSON.stringify({
  model: "gpt-4.1",
  instructions: "You are a concise travel assistant. Use the tools when the user asks.",
  input: [
    { role: "user", content: [{ type: "input_text", text: "What is the weather in Paris?" }] },
    { type: "function_call", call_id: "call_1", name: "weather", arguments: '{"city":"Paris"}' },
    { type: "function_call_output", call_id: "call_1", output: "sunny, 21 °C" },
    { role: "user", content: "And should I pack an umbrella for the next three days?" },
  ],
  tools: [tool("weather"), tool("forecast")],
  temperature: 0.3,
  max_output_tokens: 512,
});

const messagesRequest = JSON.stringify({
  model: "claude-sonnet",
  max_tokens: 512,
  system: "You are a concise travel assistant. Use the tools when the user asks.",
  messages: [
    { role: "user", content: "What is the weather in Paris?" },
    {
      role: "assistant",
      content: [{ type: "tool_use", id: "toolu_1", name: "weather", input: { city: "Paris" } }],
    },
    {
      role: "user",
      content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "sunny, 21 °C" }],
    },
    { role: "user", content: "And should I pack an umbrella for the next three days?" },
  ],
  tools: [
    { name: "weather", description: "Calls weather", input_schema: tool("weather").parameters },
    { name: "forecast", description: "Calls forecast", input_schema: tool("forecast").parameters },
  ],
});

const answerText = "No umbrella needed: the forecast for Paris is dry and sunny through Sunday. "
  .repeat(
    3,
  );
const chatAnswer = JSON.stringify({
  id: "chatcmpl-1",
  object: "chat.completion",
  created: 1_700_000_000,
  model: "gpt-4.1-2025-04-14",
  choices: [{
    index: 0,
    message: { role: "assistant", content: answerText },
    finish_reason: "stop",
  }],
  usage: { prompt_tokens: 180, completion_tokens: 48, total_tokens: 228 },
});

const words = answerText.split(" ");
const chunks = [
  { choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] },
  ...words.slice(0, 58).map((w) => ({
    choices: [{ index: 0, delta: { content: `${w} ` }, finish_reason: null }],
  })),
  { choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
].map((c) => ({ id: "chatcmpl-1", object: "chat.completion.chunk", model: "m", ...c }));
const chunkTexts = chunks.map((c) => JSON.stringify(c));

const frame = (request: Record<string, unknown>): ResponseFrame => ({
  id: "resp_0123456789abcdef0123456789abcdef",
  createdAt: 1_700_000_000,
  model: "gpt-4.1",
  request,
});

Deno.bench("responses, not streamed: pass-through", { group: "responses", baseline: true }, () => {
  JSON.parse(responsesRequest);
  JSON.stringify(JSON.parse(chatAnswer));
});

Deno.bench("responses, not streamed: translated", { group: "responses" }, () => {
  const body = JSON.parse(responsesRequest);
  JSON.stringify(responsesToChat(body).chat);
  JSON.stringify(buildResponse(frame(body), turnOfChat(JSON.parse(chatAnswer))));
});

Deno.bench("messages, not streamed: pass-through", { group: "messages", baseline: true }, () => {
  JSON.parse(messagesRequest);
  JSON.stringify(JSON.parse(chatAnswer));
});

Deno.bench("messages, not streamed: translated", { group: "messages" }, () => {
  const body = JSON.parse(messagesRequest);
  JSON.stringify(messagesToChat(body).chat);
  JSON.stringify(messageOfChat(JSON.parse(chatAnswer), "msg_1", "claude-sonnet"));
});

Deno.bench("stream of 60 chunks: pass-through", { group: "stream", baseline: true }, () => {
  for (const text of chunkTexts) `data: ${JSON.stringify(JSON.parse(text))}\n\n`;
});

Deno.bench("stream of 60 chunks: as Responses events", { group: "stream" }, () => {
  const stream = new ResponsesStream(frame({}));
  for (const text of chunkTexts) stream.chunk(JSON.parse(text));
  stream.end();
});

Deno.bench("stream of 60 chunks: as Messages events", { group: "stream" }, () => {
  const stream = new MessagesStream("msg_1", "claude-sonnet");
  for (const text of chunkTexts) stream.chunk(JSON.parse(text));
  stream.end();
});
