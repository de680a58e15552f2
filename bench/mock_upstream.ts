/**
 * A fast OpenAI-compatible upstream for load tests. `POST /v1/chat/completions`
 * reads the whole request body, then answers with a fixed `chat.completion`
 * (non-stream) or ~20 SSE chunks, a usage chunk and `[DONE]` (`stream: true`).
 * `POST /v1/responses` answers the same turn as the Responses API does (the
 * `response` object, or its typed events), as OpenAI serves it natively.
 * No artificial delay unless `--delay-ms N` is given (applied before answering);
 * `--pace-ms N` spaces a stream's events N ms apart (the first leaves at once),
 * as a model producing tokens does.
 *
 * Usage: `deno run -A bench/mock_upstream.ts --port 4101 [--delay-ms 0] [--pace-ms 0]`
 * (or `PORT=4101`).
 * @module
 */
import { parseArgs } from "node:util";
import { buildResponse, type ResponseFrame, turnOfChat } from "../core/responses/response.ts";
import { ResponsesStream } from "../core/responses/stream.ts";

const CONTENT =
  "Hamlet, Prince of Denmark, feigns madness to avenge his father's murder by his uncle " +
  "Claudius, and the revenge ends in the deaths of nearly everyone at court, Hamlet included.";

/** A fixed, realistic `chat.completion` for `model`. */
export function chatCompletion(model: string): Record<string, unknown> {
  return {
    id: "chatcmpl-bench-0001",
    object: "chat.completion",
    created: 1_700_000_000,
    model,
    system_fingerprint: "fp_bench",
    choices: [{
      index: 0,
      message: { role: "assistant", content: CONTENT, refusal: null },
      logprobs: null,
      finish_reason: "stop",
    }],
    usage: {
      prompt_tokens: 31,
      completion_tokens: 38,
      total_tokens: 69,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    },
  };
}

/** The SSE events of a streamed answer: role, ~20 content deltas, finish, usage, `[DONE]`. */
export function chatChunks(model: string): string[] {
  const base = {
    id: "chatcmpl-bench-0001",
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model,
  };
  const chunk = (delta: unknown, finish: string | null = null) =>
    JSON.stringify({
      ...base,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    });
  const words = CONTENT.split(" ");
  const n = 20; // content deltas
  const pieces = Array.from({ length: n }, (_, i) => {
    const text = words.slice(
      Math.floor(i * words.length / n),
      Math.floor((i + 1) * words.length / n),
    ).join(" ");
    return (i ? " " : "") + text;
  });
  const usage = (chatCompletion(model) as { usage: unknown }).usage;
  return [
    chunk({ role: "assistant", content: "" }),
    ...pieces.map((content) => chunk({ content })),
    chunk({}, "stop"),
    JSON.stringify({ ...base, choices: [], usage }),
    "[DONE]",
  ].map((data) => `data: ${data}\n\n`);
}

/** The same turn as a Responses API `response` and its SSE events. */
function responsesAnswer(model: string): { json: string; sse: string[] } {
  const frame: ResponseFrame = {
    id: "resp_bench0001",
    createdAt: 1_700_000_000,
    model,
    request: {},
  };
  const json = JSON.stringify(buildResponse(frame, turnOfChat(chatCompletion(model))));
  const stream = new ResponsesStream(frame);
  const sse = chatChunks(model).slice(0, -1).map((event) =>
    stream.chunk(JSON.parse(event.slice("data: ".length)))
  ).filter(Boolean);
  return { json, sse: [...sse, stream.end()] };
}

/** Starts the mock upstream on 127.0.0.1:`port`. */
export function startMockUpstream(
  port: number,
  delayMs = 0,
  paceMs = 0,
): Deno.HttpServer<Deno.NetAddr> {
  const encoder = new TextEncoder();
  const cache = new Map<string, { json: string; sse: Uint8Array[] }>();
  const answers = (model: string, path: string) => {
    const key = `${path} ${model}`;
    let hit = cache.get(key);
    if (!hit) {
      const native = path === "/v1/responses" ? responsesAnswer(model) : undefined;
      hit = {
        json: native?.json ?? JSON.stringify(chatCompletion(model)),
        sse: (native?.sse ?? chatChunks(model)).map((e) => encoder.encode(e)),
      };
      if (cache.size < 16) cache.set(key, hit);
    }
    return hit;
  };
  const onListen = ({ port }: Deno.NetAddr) =>
    console.error(`mock upstream on http://127.0.0.1:${port}`);
  return Deno.serve({ hostname: "127.0.0.1", port, onListen }, async (req) => {
    const path = new URL(req.url).pathname;
    if (req.method !== "POST" || (path !== "/v1/chat/completions" && path !== "/v1/responses")) {
      await req.body?.cancel();
      return Response.json({ error: { message: `no route ${req.method} ${path}` } }, {
        status: 404,
      });
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(await req.text());
    } catch {
      return Response.json({ error: { message: "body is not JSON" } }, { status: 400 });
    }
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    const model = typeof body.model === "string" ? body.model : "bench-model";
    const { json, sse } = answers(model, path);
    if (body.stream !== true) {
      return new Response(json, { headers: { "content-type": "application/json" } });
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        if (paceMs <= 0) {
          for (const event of sse) controller.enqueue(event);
          controller.close();
          return;
        }
        let next = 0;
        const send = () => {
          controller.enqueue(sse[next++]);
          if (next < sse.length) timer = setTimeout(send, paceMs);
          else controller.close();
        };
        send();
      },
      cancel: () => clearTimeout(timer),
    });
    return new Response(stream, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
    });
  });
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string" },
      "delay-ms": { type: "string" },
      "pace-ms": { type: "string" },
    },
  });
  const port = Number(values.port ?? Deno.env.get("PORT") ?? 4101);
  startMockUpstream(port, Number(values["delay-ms"] ?? 0), Number(values["pace-ms"] ?? 0));
}
