/**
 * A loopback fake of an OpenAI-compatible upstream that records every request
 * it receives and answers with whatever the test's handler returns.
 * @module
 */

/** One request as the upstream saw it. */
export interface RecordedRequest {
  /** HTTP method. */
  method: string;
  /** Path and query. */
  path: string;
  /** Lowercased headers. */
  headers: Record<string, string>;
  /** Parsed JSON body (or undefined). */
  body: Record<string, unknown> | undefined;
  /** The body as it arrived (a byte-order mark included). */
  text: string;
}

/** A running fake upstream. */
export interface FakeUpstream {
  /** Base URL, e.g. `http://127.0.0.1:1234/v1`. */
  url: string;
  /** Port it listens on. */
  port: number;
  /** Requests in arrival order. */
  requests: RecordedRequest[];
  /** Stops the server. */
  close(): Promise<void>;
}

/** A handler: return a Response for the recorded request. */
export type UpstreamHandler = (
  req: RecordedRequest,
  signal: AbortSignal,
) => Response | Promise<Response>;

/** Starts a fake upstream on 127.0.0.1 with a random port. */
export function startUpstream(handler: UpstreamHandler = chatCompletion()): FakeUpstream {
  const requests: RecordedRequest[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    // Decoded as it came: a byte-order mark stays visible.
    const text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(await req.bytes());
    const url = new URL(req.url);
    const recorded: RecordedRequest = {
      method: req.method,
      path: url.pathname + url.search,
      headers: Object.fromEntries(req.headers),
      body: text ? JSON.parse(text.replace(/^\ufeff/, "")) : undefined,
      text,
    };
    requests.push(recorded);
    return handler(recorded, req.signal);
  });
  const port = server.addr.port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    close: () => server.shutdown(),
  };
}

/** A handler answering chat completions with a fixed text and usage. */
export function chatCompletion(content = "Hello from the fake upstream."): UpstreamHandler {
  return (req) => {
    if (req.path.includes("/embeddings")) {
      return Response.json({
        object: "list",
        model: req.body?.model,
        data: [{ object: "embedding", index: 0, embedding: [0.1, 0.2, 0.3] }],
        usage: { prompt_tokens: 3, total_tokens: 3 },
      });
    }
    if (req.body?.stream) {
      return sseResponse(chatChunks(String(req.body.model), content.split(" ")));
    }
    return Response.json({
      id: "chatcmpl-fake-1",
      object: "chat.completion",
      created: 1_700_000_000,
      model: req.body?.model,
      choices: [{
        index: 0,
        message: { role: "assistant", content },
        finish_reason: "stop",
        logprobs: null,
      }],
      usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
    });
  };
}

/** OpenAI stream chunks for `words`, ending with a usage chunk and `[DONE]`. */
export function chatChunks(model: string, words: string[]): string[] {
  const base = {
    id: "chatcmpl-fake-stream",
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model,
  };
  return [
    JSON.stringify({
      ...base,
      choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
    }),
    ...words.map((w, i) =>
      JSON.stringify({
        ...base,
        choices: [{ index: 0, delta: { content: (i ? " " : "") + w }, finish_reason: null }],
      })
    ),
    JSON.stringify({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }),
    JSON.stringify({
      ...base,
      choices: [],
      usage: { prompt_tokens: 9, completion_tokens: words.length, total_tokens: 9 + words.length },
    }),
    "[DONE]",
  ];
}

/** A `text/event-stream` response of `data:` events, optionally waiting before some of them. */
export function sseResponse(
  events: string[],
  waitBefore?: (index: number) => Promise<void> | undefined,
): Response {
  const encoder = new TextEncoder();
  let i = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (i >= events.length) return controller.close();
      await waitBefore?.(i);
      controller.enqueue(encoder.encode(`data: ${events[i++]}\n\n`));
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}
