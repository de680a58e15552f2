/**
 * Reads an OTLP/HTTP export body: the media type (`application/x-protobuf`
 * or `application/json`, else 415), at most `maxBodyBytes` on the wire
 * (else 413), complete within `bodyTimeoutMs` (else 408), gzip undone when
 * `content-encoding: gzip` with at most `maxDecompressedBytes` coming out
 * (else 413: a zip bomb stops there), then decoded (else 400). A client's
 * fault is a typed result, never an exception.
 * @module
 */
import { deadline } from "../server/deadline.ts";
import {
  type Decoded,
  type DecodeLimits,
  decodeLogs,
  decodeTraces,
  type OtlpEncoding,
  parseLogsJson,
  parseTracesJson,
} from "./proto.ts";
import type { ExportLogsServiceRequest, ExportTraceServiceRequest } from "./types.ts";

/** The limits an OTLP body is read under. */
export interface OtlpBodyLimits {
  /** The most bytes on the wire (compressed, if gzipped). */
  maxBodyBytes: number;
  /** The most bytes a gzipped body may decompress to. Default: 8 × `maxBodyBytes`. */
  maxDecompressedBytes?: number;
  /** How long the body may take to arrive, in ms. Default 30,000. */
  bodyTimeoutMs?: number;
  /** Bounds on decoding (nesting, message count). */
  decode?: DecodeLimits;
}

/** An OTLP body that could not be read, with the HTTP status the spec asks for. */
export interface OtlpBodyFailure {
  /** Not read. */
  ok: false;
  /** 400 undecodable, 408 too slow, 413 too large, 415 unsupported type or encoding. */
  status: 400 | 408 | 413 | 415;
  /** Why, safe to return to the client (no body content). */
  message: string;
  /** The encoding to answer in: the request's, or JSON when the type was not understood. */
  encoding: OtlpEncoding;
}

/** An OTLP body read and decoded. */
export interface OtlpBody<T> {
  /** Read. */
  ok: true;
  /** The request in the OTLP/JSON shape. */
  value: T;
  /** The body's encoding; answer in the same. */
  encoding: OtlpEncoding;
  /** Bytes received on the wire. */
  wireBytes: number;
  /** Bytes decoded (after gzip). */
  bodyBytes: number;
}

/** The result of reading an OTLP body. */
export type OtlpBodyResult<T> = OtlpBody<T> | OtlpBodyFailure;

const PROTOBUF_TYPE = /^\s*application\/(?:x-)?protobuf\s*(?:;|$)/i;
const JSON_TYPE = /^\s*application\/json\s*(?:;|$)/i;

/** The body's encoding from its content-type, or undefined for any other type. */
export function otlpEncoding(contentType: string | null): OtlpEncoding | undefined {
  if (!contentType) return undefined;
  if (PROTOBUF_TYPE.test(contentType)) return "protobuf";
  if (JSON_TYPE.test(contentType)) return "json";
  return undefined;
}

/** A client fault met while reading, with its status. */
class ReadFault extends Error {
  constructor(readonly status: OtlpBodyFailure["status"], message: string) {
    super(message);
  }
}

/** Reads a stream to its end, failing with 413 once more than `limit` bytes have come. */
async function readAll(
  stream: ReadableStream<Uint8Array>,
  limit: number,
  tooLarge: string,
  until: Promise<never>,
): Promise<Uint8Array> {
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), until]);
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        reader.cancel().catch(() => {});
        throw new ReadFault(413, tooLarge);
      }
      parts.push(value);
    }
  } catch (error) {
    if (error instanceof ReadFault) throw error;
    reader.cancel().catch(() => {});
    throw error;
  }
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

/** An OTLP body read (gzip undone) but not decoded: what the request thread hands on. */
export interface OtlpBytes {
  /** Read. */
  ok: true;
  /** The body, after gzip. */
  bytes: Uint8Array;
  /** The body's encoding; answer in the same. */
  encoding: OtlpEncoding;
  /** Bytes received on the wire. */
  wireBytes: number;
}

/**
 * Reads an OTLP/HTTP export body within `limits` without decoding it (the
 * decode can run on another thread): 415, 413 and 408 as for
 * {@link readTracesBody}, 400 for a body that is not valid gzip.
 */
export async function readOtlpBytes(
  req: Request,
  limits: OtlpBodyLimits,
): Promise<OtlpBytes | OtlpBodyFailure> {
  const type = req.headers.get("content-type");
  const encoding = otlpEncoding(type);
  const fail = (status: OtlpBodyFailure["status"], message: string): OtlpBodyFailure => ({
    ok: false,
    status,
    message,
    encoding: encoding ?? "json",
  });
  if (!encoding) {
    await req.body?.cancel().catch(() => {});
    return fail(
      415,
      `Unsupported content-type ${JSON.stringify((type ?? "").slice(0, 100))}; ` +
        "OTLP/HTTP takes application/x-protobuf or application/json.",
    );
  }
  const contentEncoding = (req.headers.get("content-encoding") ?? "").trim().toLowerCase();
  if (contentEncoding !== "" && contentEncoding !== "identity" && contentEncoding !== "gzip") {
    await req.body?.cancel().catch(() => {});
    return fail(
      415,
      `Unsupported content-encoding ${JSON.stringify(contentEncoding.slice(0, 50))}; ` +
        "send the body as is or gzipped.",
    );
  }
  const max = limits.maxBodyBytes;
  const tooLarge = `Request body exceeds the limit of ${max} bytes.`;
  const length = Number(req.headers.get("content-length") ?? NaN);
  if (length > max) {
    await req.body?.cancel().catch(() => {});
    return fail(413, tooLarge);
  }
  const ms = limits.bodyTimeoutMs ?? 30_000;
  const until = deadline(
    ms,
    () => new ReadFault(408, `The request body did not arrive within ${ms} ms.`),
  );
  try {
    const wire = req.body
      ? await readAll(req.body, max, tooLarge, until.promise)
      : new Uint8Array(0);
    if (contentEncoding !== "gzip") {
      return { ok: true, bytes: wire, encoding, wireBytes: wire.byteLength };
    }
    const maxOut = limits.maxDecompressedBytes ?? 8 * max;
    const inflated = new Blob([wire as Uint8Array<ArrayBuffer>]).stream()
      .pipeThrough(new DecompressionStream("gzip"));
    try {
      const bytes = await readAll(
        inflated,
        maxOut,
        `Request body decompresses to more than ${maxOut} bytes.`,
        until.promise,
      );
      return { ok: true, bytes, encoding, wireBytes: wire.byteLength };
    } catch (error) {
      if (error instanceof ReadFault) throw error;
      throw new ReadFault(400, "Request body is not valid gzip.");
    }
  } catch (error) {
    if (error instanceof ReadFault) return fail(error.status, error.message);
    return fail(400, "Request body could not be read.");
  } finally {
    until.clear();
  }
}

async function readOtlp<T>(
  req: Request,
  limits: OtlpBodyLimits,
  decode: Record<OtlpEncoding, (bytes: Uint8Array, limits?: DecodeLimits) => Decoded<T>>,
): Promise<OtlpBodyResult<T>> {
  const read = await readOtlpBytes(req, limits);
  if (!read.ok) return read;
  const decoded = decode[read.encoding](read.bytes, limits.decode);
  if (!decoded.ok) {
    return { ok: false, status: 400, message: decoded.error, encoding: read.encoding };
  }
  return {
    ok: true,
    value: decoded.value,
    encoding: read.encoding,
    wireBytes: read.wireBytes,
    bodyBytes: read.bytes.byteLength,
  };
}

/** Reads an OTLP/HTTP trace export (`POST /v1/traces`) body. */
export function readTracesBody(
  req: Request,
  limits: OtlpBodyLimits,
): Promise<OtlpBodyResult<ExportTraceServiceRequest>> {
  return readOtlp(req, limits, { protobuf: decodeTraces, json: parseTracesJson });
}

/** Reads an OTLP/HTTP logs export (`POST /v1/logs`) body. */
export function readLogsBody(
  req: Request,
  limits: OtlpBodyLimits,
): Promise<OtlpBodyResult<ExportLogsServiceRequest>> {
  return readOtlp(req, limits, { protobuf: decodeLogs, json: parseLogsJson });
}
