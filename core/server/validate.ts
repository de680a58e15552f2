/**
 * Checks the fields a call needs before anything is routed, with OpenAI's
 * 400 shape naming the offending parameter.
 * @module
 */
import { badRequest } from "../errors.ts";
import type { ProxyCallType } from "../providers/types.ts";

const REQUIRED: Record<Exclude<ProxyCallType, "responses" | "messages">, string> = {
  chat: "messages",
  completion: "prompt",
  embedding: "input",
};

/** The body's model name, or a 400 naming `model`. */
export function requireModel(body: Record<string, unknown>): string {
  const model = body.model;
  if (typeof model !== "string" || model === "") {
    throw badRequest(
      "Missing required parameter: 'model' (a non-empty string).",
      "missing_required_parameter",
      "model",
    );
  }
  return model;
}

/** Validates a call's body and returns its model name. */
export function validateCallBody(
  callType: Exclude<ProxyCallType, "responses" | "messages">,
  body: Record<string, unknown>,
): string {
  const model = requireModel(body);
  const field = REQUIRED[callType];
  const value = body[field];
  if (value === undefined || value === null) {
    throw badRequest(
      `Missing required parameter: '${field}'.`,
      "missing_required_parameter",
      field,
    );
  }
  if (callType === "chat") {
    if (!Array.isArray(value) || value.length === 0) {
      throw badRequest("'messages' must be a non-empty array.", "invalid_type", "messages");
    }
    value.forEach((m, i) => {
      if (!m || typeof m !== "object" || typeof (m as { role?: unknown }).role !== "string") {
        throw badRequest(
          `'messages[${i}]' must be an object with a string 'role'.`,
          "invalid_type",
          `messages[${i}]`,
        );
      }
    });
  } else if (typeof value !== "string" && !Array.isArray(value)) {
    throw badRequest(`'${field}' must be a string or an array.`, "invalid_type", field);
  }
  if (body.stream !== undefined && typeof body.stream !== "boolean") {
    throw badRequest("'stream' must be a boolean.", "invalid_type", "stream");
  }
  if (
    body.metadata !== undefined &&
    (body.metadata === null || typeof body.metadata !== "object" || Array.isArray(body.metadata))
  ) {
    throw badRequest("'metadata' must be an object.", "invalid_type", "metadata");
  }
  return model;
}
