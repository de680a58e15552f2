/**
 * The routes served by translation to Chat Completions: the OpenAI
 * Responses API and the Anthropic Messages API. Each turns the client's
 * body into a chat request, and the chat answer (or stream) back into its
 * own shape; the call handler does the rest as for any chat call.
 * @module
 */
import type { FinishedCallType } from "../log/call.ts";
import { messagesToChat } from "../messages/request.ts";
import { messageOfChat, MessagesStream } from "../messages/response.ts";
import { type ItemLookup, responsesToChat } from "../responses/request.ts";
import { buildResponse, type ResponseFrame, turnOfChat } from "../responses/response.ts";
import { ResponsesStream } from "../responses/stream.ts";
import type { ChunkTranslator } from "../stream/relay.ts";

type Obj = Record<string, unknown>;

/** One call on a translated route. */
export interface Translation {
  /** The model the client named. */
  model: string;
  /** The Chat Completions body for the upstream. */
  chat: Obj;
  /** The id the client sees (`resp_…`, `msg_…`): the event's `id`. */
  id: string;
  /** A non-streamed chat answer in the route's shape. */
  answer(chat: Obj): Obj;
  /** A translator for the streamed answer. */
  stream(): ChunkTranslator;
}

/** The call kinds served by translation. */
export type TranslatedCallType = Extract<FinishedCallType, "responses" | "messages">;

/** True for a call kind served by translation. */
export function isTranslated(callType: FinishedCallType): callType is TranslatedCallType {
  return callType === "responses" || callType === "messages";
}

/**
 * Validates a translated route's body and prepares its translation.
 * @param requestId The call's request id (the answer's id derives from it).
 * @param startTime The call's start, epoch ms.
 * @throws {import("../errors.ts").GatewayError} 400 naming the parameter
 */
export function translate(
  callType: TranslatedCallType,
  body: Obj,
  requestId: string,
  startTime: number,
  lookup?: ItemLookup,
): Translation {
  const hex = requestId.replaceAll("-", "");
  if (callType === "messages") {
    const { model, chat } = messagesToChat(body);
    const id = `msg_${hex}`;
    return {
      model,
      chat,
      id,
      answer: (answer) => messageOfChat(answer, id, model),
      stream: () => new MessagesStream(id, model),
    };
  }
  const { model, chat } = responsesToChat(body, lookup);
  const frame: ResponseFrame = {
    id: `resp_${hex}`,
    createdAt: Math.floor(startTime / 1000),
    model,
    request: body,
  };
  return {
    model,
    chat,
    id: frame.id,
    answer: (answer) => buildResponse(frame, turnOfChat(answer)),
    stream: () => new ResponsesStream(frame),
  };
}
