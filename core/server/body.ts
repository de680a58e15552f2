/**
 * Reads a JSON request body under a size limit: 413 past the limit, 400 for
 * anything that is not a JSON object.
 * @module
 */
import { badRequest, GatewayError } from "../errors.ts";

function tooLarge(limit: number): GatewayError {
  return new GatewayError(
    413,
    "invalid_request_error",
    "request_too_large",
    `Request body exceeds the gateway's limit of ${limit} bytes (server.max_body_bytes).`,
  );
}

async function readLimited(body: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    parts.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

const decoder = new TextDecoder();

/** Reads and parses the body as a JSON object. */
export async function readJsonBody(req: Request, limit: number): Promise<Record<string, unknown>> {
  const length = Number(req.headers.get("content-length") ?? NaN);
  if (length > limit) {
    await req.body?.cancel();
    throw tooLarge(limit);
  }
  let text: string;
  if (!req.body) text = "";
  else if (Number.isFinite(length)) text = await req.text();
  else text = decoder.decode(await readLimited(req.body, limit));
  if (!text.trim()) {
    throw badRequest("Request body is empty; expected a JSON object.", "invalid_body");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw badRequest(`Request body is not valid JSON: ${(error as Error).message}`, "invalid_json");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw badRequest("Request body must be a JSON object.", "invalid_body");
  }
  return value as Record<string, unknown>;
}
