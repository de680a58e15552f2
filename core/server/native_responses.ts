/**
 * Which upstreams serve `POST /v1/responses` themselves (OpenAI and Azure,
 * unless a model says `api: chat`), and the little the gateway checks in a
 * request it passes through (the upstream checks the rest).
 * @module
 */
import { badRequest } from "../errors.ts";
import type { Deployment } from "../providers/types.ts";

/** True when the deployment's upstream speaks the Responses API. */
export function speaksResponses(deployment: Deployment): boolean {
  const { provider, api } = deployment.config;
  return (provider === "openai" || provider === "azure") && api !== "chat";
}

/**
 * The model of a Responses request going to an upstream that speaks it.
 * @throws {import("../errors.ts").GatewayError} 400 naming the parameter
 */
export function validateNativeResponses(body: Record<string, unknown>): string {
  const model = body.model;
  if (typeof model !== "string" || model === "") {
    throw badRequest(
      "Missing required parameter: 'model' (a non-empty string).",
      "missing_required_parameter",
      "model",
    );
  }
  const input = body.input;
  if (input !== undefined && typeof input !== "string" && !Array.isArray(input)) {
    throw badRequest("'input' must be a string or an array of items.", "invalid_type", "input");
  }
  if (body.stream !== undefined && typeof body.stream !== "boolean") {
    throw badRequest("'stream' must be a boolean.", "invalid_type", "stream");
  }
  return model;
}
