/**
 * The translated routes' native path: `POST /v1/responses` to an upstream
 * that serves the Responses API itself (OpenAI and Azure, unless a model
 * says `api: chat`), and `POST /v1/messages` to an Anthropic upstream. The
 * client's request goes as it is (the model id replaced); the answer and
 * the stream come back as they are, watched on the way for the log, which
 * records them as the chat completion they amount to.
 * @module
 */
import { badRequest } from "../errors.ts";
import { MessagesPassThrough } from "../messages/passthrough.ts";
import { fromAnthropicResponse } from "../providers/anthropic.ts";
import type { Deployment } from "../providers/types.ts";
import { ResponsesPassThrough } from "../responses/passthrough.ts";
import { chatOfResponse } from "../responses/response.ts";
import type { ChunkTranslator } from "../stream/relay.ts";
import type { TranslatedCallType } from "./translated.ts";
import { requireModel } from "./validate.ts";

type Obj = Record<string, unknown>;

/** A call on a route's native path. */
export interface NativeCall {
  /** Relays the stream unchanged and watches it. */
  observer: ChunkTranslator & { firstTokenAt?: number };
  /** The streamed answer, assembled (once the stream ended). */
  streamed(): Obj | undefined;
  /** An answer in the route's shape as a chat completion, for the log. */
  asChat(answer: Obj): Obj;
  /**
   * Why the call failed though the upstream answered 200: an `error` event
   * in its stream, or a Responses answer with `status: "failed"`.
   */
  failure(answer?: Obj): { code: string; message: string } | undefined;
}

const isObj = (value: unknown): value is Obj =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** `{code, message}` of an upstream error object (Anthropic's `type`, OpenAI's `code`). */
function failureOf(error: unknown, fallback: string): { code: string; message: string } {
  const e = isObj(error) ? error : {};
  const code = typeof e.code === "string" ? e.code : typeof e.type === "string" ? e.type : fallback;
  const message = typeof e.message === "string" ? e.message : "the upstream reported an error";
  return { code, message };
}

/** True when the deployment's upstream serves the route's API itself. */
export function speaksNatively(callType: TranslatedCallType, deployment: Deployment): boolean {
  const { provider, api } = deployment.config;
  if (callType === "messages") return provider === "anthropic";
  return (provider === "openai" || provider === "azure") && api !== "chat";
}

/**
 * The native path of a call whose request goes as it is; checks the little
 * the upstream cannot (the model, the body's types) and returns the model.
 * @throws {import("../errors.ts").GatewayError} 400 naming the parameter
 */
export function nativeCall(callType: TranslatedCallType, body: Obj): {
  model: string;
  call: NativeCall;
} {
  const model = requireModel(body);
  if (body.stream !== undefined && typeof body.stream !== "boolean") {
    throw badRequest("'stream' must be a boolean.", "invalid_type", "stream");
  }
  if (callType === "messages") {
    if (!Array.isArray(body.messages)) {
      throw badRequest("messages: Input should be a list", "invalid_request_error", "messages");
    }
    const observer = new MessagesPassThrough();
    return {
      model,
      call: {
        observer,
        streamed: () => (observer.complete() && !observer.error ? observer.message : undefined),
        asChat: (answer) => fromAnthropicResponse(answer),
        failure: () =>
          observer.error ? failureOf(observer.error, "upstream_stream_error") : undefined,
      },
    };
  }
  const input = body.input;
  if (input !== undefined && typeof input !== "string" && !Array.isArray(input)) {
    throw badRequest("'input' must be a string or an array of items.", "invalid_type", "input");
  }
  const observer = new ResponsesPassThrough();
  return {
    model,
    call: {
      observer,
      streamed: () => observer.final,
      asChat: chatOfResponse,
      failure(answer) {
        if (observer.error) return failureOf(observer.error, "upstream_stream_error");
        const final = answer ?? observer.final;
        return final?.status === "failed" ? failureOf(final.error, "response_failed") : undefined;
      },
    },
  };
}
