/**
 * Reads a JSON request body within the server's limits: a JSON media type
 * (or none) else 415, at most `max_body_bytes` else 413, complete within
 * `body_timeout_ms` else 408, valid UTF-8, nested at most `max_json_depth`
 * levels, and a JSON object, else 400.
 * @module
 */
import { badRequest, GatewayError } from "../errors.ts";
import type { ServerConfig } from "../config/types.ts";
import { deadline } from "./deadline.ts";
import { scanJson } from "../json_depth.ts";

/** The server settings a body is read under. */
export type BodyLimits = Pick<
  ServerConfig,
  "max_body_bytes" | "max_json_depth" | "body_timeout_ms"
>;

/** `application/json` and any `+json` type, with or without parameters. */
const JSON_MEDIA_TYPE = /^\s*application\/(?:[\w.!#$&^-]+\+)?json\s*(?:;|$)/i;

function tooLarge(limit: number): GatewayError {
  return new GatewayError(
    413,
    "invalid_request_error",
    "request_too_large",
    `Request body exceeds the gateway's limit of ${limit} bytes (server.max_body_bytes).`,
  );
}

function tooSlow(ms: number): GatewayError {
  return new GatewayError(
    408,
    "timeout_error",
    "request_timeout",
    `The request body did not arrive within ${ms} ms (server.body_timeout_ms).`,
  );
}

function unsupportedType(type: string): GatewayError {
  return new GatewayError(
    415,
    "invalid_request_error",
    "unsupported_media_type",
    `Unsupported content-type "${type.slice(0, 100)}"; send the body as ` +
      "'content-type: application/json'.",
  );
}

/**
 * The bytes in a buffer of their own: a read may hand over a view into a
 * larger (64 KiB) buffer, and the whole buffer would go wherever the bytes
 * go (cloned to the log Worker with every call).
 */
function owned(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer && bytes.byteOffset === 0 &&
      bytes.byteLength === bytes.buffer.byteLength
    ? bytes as Uint8Array<ArrayBuffer>
    : bytes.slice();
}

function concat(parts: Uint8Array[], size: number): Uint8Array<ArrayBuffer> {
  if (parts.length === 1) return owned(parts[0]);
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

/** Reads a body of unknown length chunk by chunk, up to `max_body_bytes`. */
async function readChunks(
  body: ReadableStream<Uint8Array>,
  limit: number,
  until: Promise<never>,
): Promise<Uint8Array<ArrayBuffer>> {
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await Promise.race([reader.read(), until]);
    if (done) return concat(parts, size);
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    parts.push(value);
  }
}

/**
 * Reads the whole body within `body_timeout_ms`. On the deadline the read is
 * left behind rather than cancelled, so Deno still answers with
 * `connection: close`.
 */
async function readBytes(
  req: Request,
  limits: BodyLimits,
  sized: boolean,
): Promise<Uint8Array<ArrayBuffer>> {
  const ms = limits.body_timeout_ms;
  const until = deadline(ms, () => tooSlow(ms));
  try {
    if (!sized) return await readChunks(req.body!, limits.max_body_bytes, until.promise);
    // With a content-length (checked against the limit) the whole body is one read.
    const bytes = owned(await Promise.race([req.bytes(), until.promise]));
    if (bytes.byteLength > limits.max_body_bytes) throw tooLarge(limits.max_body_bytes);
    return bytes;
  } finally {
    until.clear();
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw badRequest("Request body is not valid UTF-8.", "invalid_encoding");
  }
}

/** The parsed object, and whether its top level repeats a key. */
function parseObject(
  text: string,
  maxDepth: number,
): { value: Record<string, unknown>; duplicateKey: boolean } {
  if (!text.trim()) {
    throw badRequest("Request body is empty; expected a JSON object.", "invalid_body");
  }
  const shape = scanJson(text, maxDepth);
  if (shape.tooDeep) {
    throw badRequest(
      `Request body nests deeper than ${maxDepth} levels (server.max_json_depth).`,
      "json_too_deep",
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // Also a RangeError, should the engine give up on a deeply nested value.
    throw badRequest(`Request body is not valid JSON: ${(error as Error).message}`, "invalid_json");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw badRequest("Request body must be a JSON object.", "invalid_body");
  }
  return { value: value as Record<string, unknown>, duplicateKey: shape.duplicateTopLevelKey };
}

const BOM = [0xef, 0xbb, 0xbf];

/** A request body read and parsed: the object, and the bytes it was parsed from. */
export interface JsonBody {
  /** The parsed JSON object. */
  value: Record<string, unknown>;
  /** The UTF-8 bytes as received (handed to the log side, which parses its own copy). */
  bytes: Uint8Array<ArrayBuffer>;
  /**
   * Whether the bytes say to any parser what `value` says, so they may go
   * upstream as they are: no byte-order mark, and no top-level key twice
   * (parsers differ on which one wins: the gateway routes and authorises on
   * its own parse, so an upstream must never read another `model`).
   */
  verbatim: boolean;
}

/**
 * Reads and parses the body as a JSON object. A request without a
 * content-type is read as JSON; an explicit non-JSON type is a 415.
 */
export async function readJsonBody(req: Request, limits: BodyLimits): Promise<JsonBody> {
  const type = req.headers.get("content-type");
  if (type && type.trim() && !JSON_MEDIA_TYPE.test(type)) {
    await req.body?.cancel();
    throw unsupportedType(type);
  }
  const length = Number(req.headers.get("content-length") ?? NaN);
  if (length > limits.max_body_bytes) {
    await req.body?.cancel();
    throw tooLarge(limits.max_body_bytes);
  }
  const bytes = req.body
    ? await readBytes(req, limits, Number.isFinite(length))
    : new Uint8Array(0);
  const { value, duplicateKey } = parseObject(decodeUtf8(bytes), limits.max_json_depth);
  const bom = BOM.every((b, i) => bytes[i] === b);
  return { value, bytes, verbatim: !duplicateKey && !bom };
}
