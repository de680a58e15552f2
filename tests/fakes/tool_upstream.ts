/**
 * A loopback Chat Completions upstream that calls a tool: the translated
 * routes' tests (Responses, Messages) run their tool round trips through it.
 * @module
 */
import { type RecordedRequest, sseResponse, startUpstream } from "./upstream.ts";

type Obj = Record<string, unknown>;

/**
 * A Chat Completions upstream that calls `get_weather` when offered it and
 * no tool result is in the conversation yet, and answers with text after.
 */
export function toolUpstream(): ReturnType<typeof startUpstream> {
  return startUpstream((req: RecordedRequest) => {
    const body = req.body as Obj;
    const messages = body.messages as Obj[];
    const hasResult = messages.some((m) => m.role === "tool");
    const offered = Array.isArray(body.tools) && body.tools.length > 0;
    const call = offered && !hasResult;
    const text = hasResult
      ? `It is ${String(messages.find((m) => m.role === "tool")?.content)}.`
      : "No tools needed.";
    const base = { id: "chatcmpl-tool", created: 1_700_000_000, model: body.model };
    const usage = { prompt_tokens: 20, completion_tokens: 6, total_tokens: 26 };
    if (!body.stream) {
      const message = call
        ? {
          role: "assistant",
          content: null,
          tool_calls: [{
            id: "call_w1",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
          }],
        }
        : { role: "assistant", content: text };
      return Response.json({
        ...base,
        object: "chat.completion",
        choices: [{ index: 0, message, finish_reason: call ? "tool_calls" : "stop" }],
        usage,
      });
    }
    const chunk = (delta: Obj, finish: string | null = null) =>
      JSON.stringify({
        ...base,
        object: "chat.completion.chunk",
        choices: [{ index: 0, delta, finish_reason: finish }],
      });
    const events = call
      ? [
        chunk({
          role: "assistant",
          tool_calls: [{
            index: 0,
            id: "call_w1",
            type: "function",
            function: { name: "get_weather", arguments: "" },
          }],
        }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
        chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
        chunk({}, "tool_calls"),
      ]
      : [chunk({ role: "assistant", content: "" }), chunk({ content: text }), chunk({}, "stop")];
    events.push(JSON.stringify({ ...base, choices: [], usage }), "[DONE]");
    return sseResponse(events);
  });
}

/**
 * What the upstream must receive after the client sends the tool's result
 * back (`sunny, 21 °C`), whatever API the client spoke: the assistant's
 * tool call, then the tool message.
 */
export const TOOL_TURN_SENT: Obj[] = [
  {
    role: "assistant",
    content: null,
    tool_calls: [{
      id: "call_w1",
      type: "function",
      function: { name: "get_weather", arguments: '{"city":"Paris"}' },
    }],
  },
  { role: "tool", tool_call_id: "call_w1", content: "sunny, 21 °C" },
];
