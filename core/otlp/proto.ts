/**
 * OTLP trace and log export bodies, protobuf and JSON, decoded to one
 * representation (the OTLP/JSON shape of {@link ExportTraceServiceRequest}
 * and {@link ExportLogsServiceRequest}), and the export responses encoded.
 *
 * Hostile bodies are answered with a failure, never an exception: before
 * protobufjs reads a protobuf body, one iterative pass checks every tag,
 * wire type, length and nesting level against the schema, so protobufjs only
 * ever sees well-formed messages; a JSON body is measured for depth before it
 * is parsed and then checked field by field.
 * @module
 */
import protobuf from "protobufjs";
import { Buffer } from "node:buffer";
import { HEX_FIELDS, LONG_TYPES, messageType, WIRE_TYPE } from "./schema.ts";
import { scanJson } from "../json_depth.ts";
import type { ExportLogsServiceRequest, ExportTraceServiceRequest } from "./types.ts";

export type * from "./types.ts";

/** Bounds on the work one body may cause. */
export interface DecodeLimits {
  /** The deepest nesting of messages (JSON objects), the request itself being 1. Default 64. */
  maxDepth?: number;
  /** The most messages (JSON objects) in one body, all levels counted. Default 1,000,000. */
  maxMessages?: number;
}

/** The default {@link DecodeLimits}. */
export const DEFAULT_DECODE_LIMITS: Required<DecodeLimits> = {
  maxDepth: 64,
  maxMessages: 1_000_000,
};

/** A decoded body, or why it could not be decoded (a message safe to return to the client). */
export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

/** What a partial success reports: how many items were rejected, and why. */
export interface PartialSuccess {
  /** Spans or log records rejected (0 when all were accepted). */
  rejected: number;
  /** Why, for the sender's logs; empty when nothing is to be said. */
  message?: string;
}

/** The two OTLP/HTTP body encodings. */
export type OtlpEncoding = "protobuf" | "json";

/** A fault in the body, reported to the client. */
class BodyFault extends Error {}

const TRACES = messageType("ExportTraceServiceRequest");
const LOGS = messageType("ExportLogsServiceRequest");
const TRACES_RESPONSE = messageType("ExportTraceServiceResponse");
const LOGS_RESPONSE = messageType("ExportLogsServiceResponse");
const RPC_STATUS = messageType("RpcStatus");

const ID_BYTES: Readonly<Record<string, number>> = { traceId: 16, spanId: 8, parentSpanId: 8 };

function limitsOf(limits?: DecodeLimits): Required<DecodeLimits> {
  return { ...DEFAULT_DECODE_LIMITS, ...limits };
}

// ---------------------------------------------------------------- wire check

interface Frame {
  type: protobuf.Type;
  end: number;
  depth: number;
}

/** Reads a varint at `pos` (at most 10 bytes, within `end`): [value, next position]. */
function varint(bytes: Uint8Array, pos: number, end: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) throw new BodyFault("a varint runs past the end of its message");
    const b = bytes[pos++];
    value += (b & 0x7f) * scale;
    if (b < 0x80) return [value, pos];
    scale *= 128;
  }
  throw new BodyFault("a varint is longer than 10 bytes");
}

function expectedWireType(field: protobuf.Field): number {
  if (field.resolvedType instanceof protobuf.Type) return 2;
  if (field.resolvedType instanceof protobuf.Enum) return 0;
  return WIRE_TYPE[field.type] ?? 0;
}

/**
 * Walks the whole body once, without recursion, checking every tag, wire type
 * and length against the schema, and the nesting and message count against
 * the limits. Unknown fields are skipped (as the spec asks), except groups.
 */
function checkWire(bytes: Uint8Array, type: protobuf.Type, limits: Required<DecodeLimits>): void {
  const stack: Frame[] = [{ type, end: bytes.length, depth: 1 }];
  let pos = 0;
  let messages = 1;
  while (stack.length > 0) {
    const frame = stack[stack.length - 1];
    if (pos >= frame.end) {
      stack.pop();
      continue;
    }
    const [tag, afterTag] = varint(bytes, pos, frame.end);
    pos = afterTag;
    if (tag > 0xffffffff) throw new BodyFault("a field tag is out of range");
    const id = Math.floor(tag / 8);
    const wire = tag % 8;
    if (id === 0) throw new BodyFault("a field has number 0");
    const field = frame.type.fieldsById[id] as protobuf.Field | undefined;
    if (field && wire !== expectedWireType(field)) {
      throw new BodyFault(
        `field ${frame.type.name}.${field.name} (${id}) has wire type ${wire}, ` +
          `expected ${expectedWireType(field)}`,
      );
    }
    switch (wire) {
      case 0:
        pos = varint(bytes, pos, frame.end)[1];
        break;
      case 1:
      case 5: {
        const size = wire === 1 ? 8 : 4;
        if (pos + size > frame.end) {
          throw new BodyFault(`field ${id} runs past the end of its message`);
        }
        pos += size;
        break;
      }
      case 2: {
        const [length, start] = varint(bytes, pos, frame.end);
        if (start + length > frame.end) {
          throw new BodyFault(`field ${id} runs past the end of its message`);
        }
        pos = start;
        if (field && field.resolvedType instanceof protobuf.Type) {
          if (frame.depth + 1 > limits.maxDepth) {
            throw new BodyFault(`messages nest deeper than ${limits.maxDepth} levels`);
          }
          if (++messages > limits.maxMessages) {
            throw new BodyFault(`the body holds more than ${limits.maxMessages} messages`);
          }
          stack.push({ type: field.resolvedType, end: start + length, depth: frame.depth + 1 });
        } else {
          pos = start + length;
        }
        break;
      }
      default:
        throw new BodyFault(`field ${id} has unsupported wire type ${wire}`);
    }
  }
}

// ------------------------------------------------------- protobuf → OTLP/JSON

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += HEX[b];
  return out;
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function longToString(value: unknown, unsigned: boolean): string {
  if (typeof value === "number") return BigInt(value).toString();
  if (typeof value === "string") return BigInt(value).toString();
  // A Long from the `long` package.
  const long = value as { low: number; high: number };
  const big = (BigInt(long.high >>> 0) << 32n) | BigInt(long.low >>> 0);
  return (unsigned ? big : BigInt.asIntN(64, big)).toString();
}

function doubleOut(value: number): number | string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "Infinity";
  if (value === -Infinity) return "-Infinity";
  return value;
}

function isDefault(value: unknown): boolean {
  if (value === 0 || value === "" || value === false || value === "0") return true;
  return value instanceof Uint8Array && value.length === 0;
}

function checkId(name: string, length: number): void {
  const want = ID_BYTES[name];
  if (length !== want && length !== 0) {
    throw new BodyFault(`${name} must be ${want} bytes, got ${length}`);
  }
}

function scalarFromMessage(field: protobuf.Field, value: unknown): unknown {
  if (LONG_TYPES.has(field.type)) {
    return longToString(value, field.type === "fixed64" || field.type === "uint64");
  }
  if (field.type === "bytes") {
    const bytes = value as Uint8Array;
    if (HEX_FIELDS.has(field.name)) {
      checkId(field.name, bytes.length);
      return toHex(bytes);
    }
    return toBase64(bytes);
  }
  if (field.type === "double" || field.type === "float") return doubleOut(value as number);
  return value;
}

/** A decoded protobufjs message in the OTLP/JSON shape (depth already bounded by checkWire). */
function fromMessage(
  type: protobuf.Type,
  message: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let oneofSet = 0;
  for (const field of type.fieldsArray) {
    if (!Object.hasOwn(message, field.name)) continue;
    const value = message[field.name];
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    const one = (v: unknown) =>
      sub ? fromMessage(sub, v as Record<string, unknown>) : scalarFromMessage(field, v);
    if (field.repeated) {
      const list = value as unknown[];
      if (list.length > 0) out[field.name] = list.map(one);
      continue;
    }
    const converted = one(value);
    if (field.partOf) {
      if (++oneofSet > 1) throw new BodyFault(`${type.name} sets more than one value`);
    } else if (!sub && isDefault(converted)) continue;
    out[field.name] = converted;
  }
  return out;
}

function decodeProtobuf<T>(
  type: protobuf.Type,
  bytes: Uint8Array,
  limits?: DecodeLimits,
): Decoded<T> {
  try {
    checkWire(bytes, type, limitsOf(limits));
    // As a Buffer (no copy), protobufjs reads strings with the native UTF-8 decoder rather
    // than its JavaScript one: about twice as fast on GenAI spans' long attribute strings.
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const message = type.decode(view) as unknown as Record<string, unknown>;
    return { ok: true, value: fromMessage(type, message) as T };
  } catch (error) {
    const reason = error instanceof BodyFault
      ? error.message
      : `undecodable (${(error as Error)?.message ?? String(error)})`.slice(0, 200);
    return { ok: false, error: `OTLP protobuf body is not a valid ${type.name}: ${reason}` };
  }
}

/** Decodes a protobuf `ExportTraceServiceRequest` to the OTLP/JSON shape. */
export function decodeTraces(
  bytes: Uint8Array,
  limits?: DecodeLimits,
): Decoded<ExportTraceServiceRequest> {
  return decodeProtobuf(TRACES, bytes, limits);
}

/** Decodes a protobuf `ExportLogsServiceRequest` to the OTLP/JSON shape. */
export function decodeLogs(
  bytes: Uint8Array,
  limits?: DecodeLimits,
): Decoded<ExportLogsServiceRequest> {
  return decodeProtobuf(LOGS, bytes, limits);
}

// ----------------------------------------------------------- JSON → OTLP/JSON

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The names a field may have in JSON: lowerCamelCase, and the proto name in snake_case. */
function jsonNames(field: protobuf.Field): string[] {
  let names = namesOf.get(field);
  if (!names) {
    const name = snake(field.name);
    names = name === field.name ? [field.name] : [field.name, name];
    namesOf.set(field, names);
  }
  return names;
}

const namesOf = new Map<protobuf.Field, string[]>();

const INT_RANGE: Readonly<Record<string, [bigint, bigint]>> = {
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  sint32: [-(2n ** 31n), 2n ** 31n - 1n],
  sfixed32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  fixed32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  sint64: [-(2n ** 63n), 2n ** 63n - 1n],
  sfixed64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
  fixed64: [0n, 2n ** 64n - 1n],
};

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `${typeof value} ${JSON.stringify(value)}`
    .slice(0, 60);
}

function integerFromJson(path: string, type: string, value: unknown): bigint {
  let big: bigint | undefined;
  if (typeof value === "number" && Number.isInteger(value)) big = BigInt(value);
  else if (typeof value === "string" && /^-?\d{1,20}$/.test(value)) big = BigInt(value);
  const [min, max] = INT_RANGE[type];
  if (big === undefined || big < min || big > max) {
    throw new BodyFault(`${path} must be a ${type} integer, got ${describe(value)}`);
  }
  return big;
}

const HEX_TEXT = /^[0-9a-fA-F]*$/;
const BASE64_TEXT = /^[A-Za-z0-9+/\-_]*={0,2}$/;

function scalarFromJson(path: string, field: protobuf.Field, value: unknown): unknown {
  const type = field.resolvedType instanceof protobuf.Enum ? "int32" : field.type;
  switch (type) {
    case "string":
      if (typeof value !== "string") {
        throw new BodyFault(`${path} must be a string, got ${describe(value)}`);
      }
      return value;
    case "bool":
      if (typeof value !== "boolean") {
        throw new BodyFault(`${path} must be a boolean, got ${describe(value)}`);
      }
      return value;
    case "double":
    case "float":
      if (typeof value === "number") return value;
      if (value === "NaN" || value === "Infinity" || value === "-Infinity") return value;
      if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) {
        return Number(value);
      }
      throw new BodyFault(`${path} must be a number, got ${describe(value)}`);
    case "bytes": {
      if (typeof value !== "string") {
        throw new BodyFault(`${path} must be a string, got ${describe(value)}`);
      }
      if (HEX_FIELDS.has(field.name)) {
        if (!HEX_TEXT.test(value) || value.length % 2 !== 0) {
          throw new BodyFault(`${path} must be hex digits`);
        }
        checkId(field.name, value.length / 2);
        return value.toLowerCase();
      }
      if (!BASE64_TEXT.test(value)) throw new BodyFault(`${path} must be base64`);
      try {
        const std = value.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
        const binary = atob(std + "=".repeat((4 - std.length % 4) % 4));
        return toBase64(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
      } catch {
        throw new BodyFault(`${path} must be base64`);
      }
    }
    default: {
      if (!(type in INT_RANGE)) throw new BodyFault(`${path} has an unsupported type`);
      const big = integerFromJson(path, type, value);
      return LONG_TYPES.has(type) ? big.toString() : Number(big);
    }
  }
}

interface JsonWalk {
  limits: Required<DecodeLimits>;
  messages: number;
}

function fromJson(
  walk: JsonWalk,
  type: protobuf.Type,
  value: unknown,
  path: string,
  depth: number,
): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new BodyFault(`${path} must be an object, got ${describe(value)}`);
  }
  if (depth > walk.limits.maxDepth) {
    throw new BodyFault(`objects nest deeper than ${walk.limits.maxDepth} levels`);
  }
  if (++walk.messages > walk.limits.maxMessages) {
    throw new BodyFault(`the body holds more than ${walk.limits.maxMessages} objects`);
  }
  const object = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  let oneofSet = 0;
  // In schema order, whatever order the keys came in; unknown keys are ignored, as the spec asks.
  for (const field of type.fieldsArray) {
    const names = jsonNames(field);
    const given = names.filter((n) => Object.hasOwn(object, n) && object[n] !== null);
    if (given.length === 0) continue;
    if (given.length > 1) throw new BodyFault(`${path} gives ${given.join(" and ")}`);
    const key = given[0];
    const v = object[key];
    const at = `${path}.${key}`;
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    const one = (item: unknown, itemPath: string) =>
      sub ? fromJson(walk, sub, item, itemPath, depth + 1) : scalarFromJson(itemPath, field, item);
    if (field.repeated) {
      if (!Array.isArray(v)) throw new BodyFault(`${at} must be an array, got ${describe(v)}`);
      if (v.length > 0) out[field.name] = v.map((item, i) => one(item, `${at}[${i}]`));
      continue;
    }
    const converted = one(v, at);
    if (field.partOf) {
      if (++oneofSet > 1) throw new BodyFault(`${path} sets more than one value`);
    } else if (!sub && isDefault(converted)) continue;
    out[field.name] = converted;
  }
  return out;
}

function parseJson<T>(
  type: protobuf.Type,
  body: string | Uint8Array,
  limits?: DecodeLimits,
): Decoded<T> {
  const bounded = limitsOf(limits);
  try {
    let text: string;
    try {
      text = typeof body === "string"
        ? body
        : new TextDecoder("utf-8", { fatal: true }).decode(body);
    } catch {
      throw new BodyFault("the body is not valid UTF-8");
    }
    // A guard for JSON.parse's stack, loose enough for any body within the message depth
    // (arrays count as levels here; an AnyValue level is three), which is checked while walking.
    const textDepth = 4 * bounded.maxDepth;
    if (scanJson(text, textDepth).tooDeep) {
      throw new BodyFault(`the body nests deeper than ${textDepth} levels`);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new BodyFault(`the body is not valid JSON (${(error as Error).message.slice(0, 120)})`);
    }
    const walk: JsonWalk = { limits: bounded, messages: 0 };
    return { ok: true, value: fromJson(walk, type, value, "$", 1) as T };
  } catch (error) {
    const reason = error instanceof BodyFault
      ? error.message
      : `undecodable (${String((error as Error)?.message ?? error).slice(0, 120)})`;
    return { ok: false, error: `OTLP/JSON body is not a valid ${type.name}: ${reason}` };
  }
}

/** Parses and checks an OTLP/JSON `ExportTraceServiceRequest` (text or UTF-8 bytes). */
export function parseTracesJson(
  body: string | Uint8Array,
  limits?: DecodeLimits,
): Decoded<ExportTraceServiceRequest> {
  return parseJson(TRACES, body, limits);
}

/** Parses and checks an OTLP/JSON `ExportLogsServiceRequest` (text or UTF-8 bytes). */
export function parseLogsJson(
  body: string | Uint8Array,
  limits?: DecodeLimits,
): Decoded<ExportLogsServiceRequest> {
  return parseJson(LOGS, body, limits);
}

// ------------------------------------------------------- OTLP/JSON → protobuf

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function fromHex(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function doubleIn(value: unknown): number {
  return typeof value === "string" ? Number(value) : value as number;
}

/** The OTLP/JSON shape as the plain object protobufjs's `fromObject` takes. */
function toProtobufObject(type: protobuf.Type, value: Record<string, unknown>): unknown {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    const v = value[field.name];
    if (v === undefined) continue;
    const sub = field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
    const one = (item: unknown): unknown => {
      if (sub) return toProtobufObject(sub, item as Record<string, unknown>);
      if (field.type === "bytes") {
        return HEX_FIELDS.has(field.name) ? fromHex(item as string) : fromBase64(item as string);
      }
      if (field.type === "double") return doubleIn(item);
      return item;
    };
    out[field.name] = field.repeated ? (v as unknown[]).map(one) : one(v);
  }
  return out;
}

/** Encodes an `ExportTraceServiceRequest` in the OTLP/JSON shape as protobuf (for OTLP sinks). */
export function encodeTraces(request: ExportTraceServiceRequest): Uint8Array<ArrayBuffer> {
  const object = toProtobufObject(TRACES, request as Record<string, unknown>);
  return owned(TRACES.encode(TRACES.fromObject(object as Record<string, unknown>)).finish());
}

/** Encodes an `ExportLogsServiceRequest` in the OTLP/JSON shape as protobuf (for OTLP sinks). */
export function encodeLogs(request: ExportLogsServiceRequest): Uint8Array<ArrayBuffer> {
  const object = toProtobufObject(LOGS, request as Record<string, unknown>);
  return owned(LOGS.encode(LOGS.fromObject(object as Record<string, unknown>)).finish());
}

// ------------------------------------------------------------------ responses

/** protobufjs's output as a plain Uint8Array over an ArrayBuffer of its own (a Response body). */
function owned(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

function encodeResponse(
  type: protobuf.Type,
  countName: string,
  partial: PartialSuccess | undefined,
  encoding: OtlpEncoding,
): Uint8Array<ArrayBuffer> {
  const rejected = Math.max(0, Math.trunc(partial?.rejected ?? 0));
  const message = partial?.message ?? "";
  // A full success leaves partial_success unset, as the spec asks.
  const body = rejected > 0 || message
    ? { partialSuccess: { [countName]: String(rejected), errorMessage: message } }
    : {};
  if (encoding === "json") return new TextEncoder().encode(JSON.stringify(body));
  return owned(type.encode(type.fromObject(body)).finish());
}

/**
 * The body of an `ExportTraceServiceResponse`: empty on full success, else
 * `partial_success` with `rejected_spans` and `error_message`.
 */
export function encodeTracesResponse(
  partial?: PartialSuccess,
  encoding: OtlpEncoding = "protobuf",
): Uint8Array<ArrayBuffer> {
  return encodeResponse(TRACES_RESPONSE, "rejectedSpans", partial, encoding);
}

/**
 * The body of an `ExportLogsServiceResponse`: empty on full success, else
 * `partial_success` with `rejected_log_records` and `error_message`.
 */
export function encodeLogsResponse(
  partial?: PartialSuccess,
  encoding: OtlpEncoding = "protobuf",
): Uint8Array<ArrayBuffer> {
  return encodeResponse(LOGS_RESPONSE, "rejectedLogRecords", partial, encoding);
}

/** How many spans a decoded request holds. */
export function countSpans(request: ExportTraceServiceRequest): number {
  let n = 0;
  for (const rs of request.resourceSpans ?? []) {
    for (const ss of rs.scopeSpans ?? []) n += ss.spans?.length ?? 0;
  }
  return n;
}

/** How many log records a decoded request holds. */
export function countLogRecords(request: ExportLogsServiceRequest): number {
  let n = 0;
  for (const rl of request.resourceLogs ?? []) {
    for (const sl of rl.scopeLogs ?? []) n += sl.logRecords?.length ?? 0;
  }
  return n;
}

/**
 * The body of an error answer (400, 413, 415, 429, 503): a `google.rpc.Status`
 * with the gRPC `code` (3 INVALID_ARGUMENT for a bad body, 8 RESOURCE_EXHAUSTED
 * when overloaded, 14 UNAVAILABLE) and a message for the sender's logs.
 */
export function encodeStatus(
  code: number,
  message: string,
  encoding: OtlpEncoding = "protobuf",
): Uint8Array<ArrayBuffer> {
  if (encoding === "json") return new TextEncoder().encode(JSON.stringify({ code, message }));
  return owned(RPC_STATUS.encode(RPC_STATUS.fromObject({ code, message })).finish());
}

function decodeResponse(
  type: protobuf.Type,
  countName: string,
  bytes: Uint8Array,
): Decoded<PartialSuccess> {
  const decoded = decodeProtobuf<{ partialSuccess?: Record<string, string> }>(type, bytes);
  if (!decoded.ok) return decoded;
  const partial = decoded.value.partialSuccess ?? {};
  return {
    ok: true,
    value: { rejected: Number(partial[countName] ?? 0), message: partial.errorMessage ?? "" },
  };
}

/** Reads a protobuf `ExportTraceServiceResponse` (what an OTLP receiver answered). */
export function decodeTracesResponse(bytes: Uint8Array): Decoded<PartialSuccess> {
  return decodeResponse(TRACES_RESPONSE, "rejectedSpans", bytes);
}

/** Reads a protobuf `ExportLogsServiceResponse` (what an OTLP receiver answered). */
export function decodeLogsResponse(bytes: Uint8Array): Decoded<PartialSuccess> {
  return decodeResponse(LOGS_RESPONSE, "rejectedLogRecords", bytes);
}
