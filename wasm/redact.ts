/**
 * The WebAssembly masker: the same output as {@linkcode maskJsonReference}
 * (byte for byte on every input `JSON.stringify` could have written), from
 * one pass over the document's UTF-8 bytes and one WebAssembly call per
 * document.
 *
 * The module is embedded (`_redact_wasm.ts`), compiled and instantiated once,
 * synchronously, on first use; its memory is reused by every later call and
 * grows when a larger document needs it (it never shrinks). Where
 * WebAssembly is unavailable every function falls back to the reference.
 *
 * @example
 * ```ts
 * import { DEFAULT_MASK_OPTIONS, maskJson } from "@sluice/redact";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   maskJson('{"user":"ana@example.com","tokens":12}', DEFAULT_MASK_OPTIONS),
 *   '{"user":"[EMAIL]","tokens":12}',
 * );
 * ```
 * @module
 */
import { REDACT_WASM_BASE64 } from "./_redact_wasm.ts";
import { pseudonymLookup, pseudonymTags } from "./pseudonym.ts";
import { collectDetections, maskJsonReference } from "./reference.ts";
import { type Detection, DETECTOR_NAMES, type DetectorName, type MaskOptions } from "./types.ts";

/** What `assembly/index.ts` exports. */
interface RedactExports {
  memory: WebAssembly.Memory;
  prepare(capacity: number): number;
  mask(len: number, flags: number, base64MinLength: number, spanCap: number): number;
  outPtr(): number;
  outLen(): number;
  spanPtr(): number;
  spanCount(): number;
  replaced(): number;
  errorPos(): number;
}

/** Detector flag bits, in the precedence order of `DETECTORS.md` §3. */
const FLAG_BITS: Readonly<Record<DetectorName, number>> = {
  SECRET: 1 << 0,
  CREDIT_CARD: 1 << 1,
  IBAN: 1 << 2,
  US_SSN: 1 << 3,
  EMAIL: 1 << 4,
  IPV6: 1 << 5,
  IPV4: 1 << 6,
  PHONE: 1 << 7,
};
const FLAG_BASE64 = 1 << 8;
const FLAG_PSEUDONYM = 1 << 9;
/** Detector kinds by the index the module reports. */
const KINDS: readonly DetectorName[] = [
  "SECRET",
  "CREDIT_CARD",
  "IBAN",
  "US_SSN",
  "EMAIL",
  "IPV6",
  "IPV4",
  "PHONE",
];

const STATUS_SYNTAX = 1;
const STATUS_UTF8 = 2;
const STATUS_SPANS = 3;
const MAX_I32 = 0x7fffffff;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

let instance: RedactExports | null | undefined;

function base64Bytes(text: string): Uint8Array<ArrayBuffer> {
  const fromBase64 = (
    Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array<ArrayBuffer> }
  ).fromBase64;
  if (typeof fromBase64 === "function") return fromBase64(text);
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function wasm(): RedactExports | null {
  if (instance === undefined) {
    try {
      const module = new WebAssembly.Module(base64Bytes(REDACT_WASM_BASE64));
      instance = new WebAssembly.Instance(module, {}).exports as unknown as RedactExports;
    } catch {
      instance = null;
    }
  }
  return instance;
}

/**
 * Whether the WebAssembly masker can run here. When it cannot, every function
 * of this module uses the TypeScript reference instead (same results, slower).
 *
 * @example
 * ```ts
 * import { wasmAvailable } from "@sluice/redact";
 * import assert from "node:assert/strict";
 *
 * assert.equal(wasmAvailable(), typeof WebAssembly === "object");
 * ```
 * @returns `true` when the embedded module compiled and instantiated.
 */
export function wasmAvailable(): boolean {
  return wasm() !== null;
}

/** The module's flags for `options`, validated as the reference does. */
function flagsOf(options: MaskOptions, pseudonyms: boolean): number {
  let flags = pseudonyms ? FLAG_PSEUDONYM : 0;
  for (const name of options.detectors) {
    if (!DETECTOR_NAMES.includes(name)) {
      throw new RangeError(
        `unknown detector "${name}"; use one of ${DETECTOR_NAMES.join(", ")}`,
      );
    }
    flags |= FLAG_BITS[name];
  }
  if (options.stripBase64) {
    const min = options.base64MinLength;
    if (!Number.isSafeInteger(min) || min < 1) {
      throw new RangeError(`base64MinLength must be a positive integer, got ${min}`);
    }
    flags |= FLAG_BASE64;
  }
  return flags;
}

/** One pseudonym placeholder in an output: where its tag goes and what it replaced. */
interface TagSlot {
  kind: DetectorName;
  /** Offset of the 8 placeholder bytes in the output. */
  at: number;
  /** The detected value, decoded exactly as `JSON.parse` decodes it. */
  value: string;
}

/** The module indexes bytes with 32-bit signed integers. */
const MAX_INPUT = 0x7fff0000;

/** Copies `input` into the module's memory; returns its address and length in bytes. */
function load(ex: RedactExports, input: string | Uint8Array): [number, number] {
  if (input.length > (typeof input === "string" ? MAX_INPUT / 3 : MAX_INPUT)) {
    throw new RangeError(`@sluice/redact: a document of ${input.length} is too large`);
  }
  if (typeof input !== "string") {
    const ptr = ex.prepare(input.length);
    new Uint8Array(ex.memory.buffer, ptr, input.length).set(input);
    return [ptr, input.length];
  }
  // Most documents are mostly ASCII: try a tight capacity first, then the worst case.
  let capacity = Math.min(input.length + (input.length >> 3) + 64, input.length * 3);
  for (;;) {
    const ptr = ex.prepare(capacity);
    const { read, written } = encoder.encodeInto(
      input,
      new Uint8Array(ex.memory.buffer, ptr, capacity),
    );
    if (read === input.length) return [ptr, written];
    capacity = input.length * 3;
  }
}

/**
 * Masks `input` in the module. Returns the output as a view of the module's
 * memory (valid until the next call), `null` when nothing was replaced (the
 * output equals the input), and the pseudonym slots when `flags` asks for
 * them.
 */
function run(
  input: string | Uint8Array,
  flags: number,
  min: number,
): { out: Uint8Array | null; slots: TagSlot[] } {
  const ex = wasm()!;
  let status: number;
  let ptr: number;
  let len: number;
  let spanCap = flags & FLAG_PSEUDONYM ? 1024 : 0;
  try {
    [ptr, len] = load(ex, input);
    status = ex.mask(len, flags, Math.min(min, MAX_I32), spanCap);
    if (status === STATUS_SPANS) {
      spanCap = ex.spanCount();
      status = ex.mask(len, flags, Math.min(min, MAX_I32), spanCap);
    }
  } catch (error) {
    if (error instanceof WebAssembly.RuntimeError) {
      throw new RangeError("@sluice/redact: out of WebAssembly memory", { cause: error });
    }
    throw error;
  }
  if (status === STATUS_SYNTAX) {
    throw new SyntaxError(`Invalid JSON at byte ${ex.errorPos()} of ${len}`);
  }
  if (status === STATUS_UTF8) {
    throw new SyntaxError(`Invalid UTF-8 in a JSON string at byte ${ex.errorPos()}`);
  }
  const buffer = ex.memory.buffer;
  if (ex.replaced() === 0) return { out: null, slots: [] };
  const out = new Uint8Array(buffer, ex.outPtr(), ex.outLen());
  const slots: TagSlot[] = [];
  if (flags & FLAG_PSEUDONYM) {
    const n = ex.spanCount();
    const table = new Int32Array(buffer, ex.spanPtr(), n * 4);
    for (let i = 0; i < n; i++) {
      const start = table[4 * i + 2];
      const raw = new Uint8Array(buffer, ptr + start, table[4 * i + 3] - start);
      const text = decoder.decode(raw);
      // A value with escapes: let JSON.parse decode them (lone surrogates included).
      const value = raw.includes(92) ? JSON.parse(`"${text}"`) as string : text;
      slots.push({ kind: KINDS[table[4 * i]], at: table[4 * i + 1], value });
    }
  }
  return { out, slots };
}

/**
 * A copy of `view` in a new array. (`set` rather than `slice`: until V8
 * optimises the caller, `slice` of a view of WebAssembly memory copies element
 * by element, 30 times slower.)
 */
function copyOf(view: Uint8Array): Uint8Array {
  const copy = new Uint8Array(view.length);
  copy.set(view);
  return copy;
}

/** Writes each slot's tag (8 ASCII hex digits) into `bytes`. */
function patch(bytes: Uint8Array, slots: readonly TagSlot[], tags: Map<string, string>): void {
  for (const slot of slots) {
    const tag = tags.get(`${slot.kind}:${slot.value}`)!;
    for (let k = 0; k < 8; k++) bytes[slot.at + k] = tag.charCodeAt(k);
  }
}

/** Distinct `(kind, value)` pairs of the slots, in document order. */
function distinct(slots: readonly TagSlot[]): Detection[] {
  const seen = new Set<string>();
  const out: Detection[] = [];
  for (const { kind, value } of slots) {
    const id = `${kind}:${value}`;
    if (!seen.has(id)) {
      seen.add(id);
      out.push({ kind, value });
    }
  }
  return out;
}

/** Masks with `options.pseudonym`, called once per distinct value; `null`: unchanged. */
function maskWithCallback(input: string | Uint8Array, options: MaskOptions): Uint8Array | null {
  const pseudonym = options.pseudonym!;
  const { out, slots } = run(input, flagsOf(options, true), options.base64MinLength);
  if (out === null) return null;
  const bytes = copyOf(out);
  const tags = new Map<string, string>();
  for (const { kind, value } of distinct(slots)) {
    const tag = pseudonym(kind, value);
    if (!/^[0-9a-f]{8}$/.test(tag)) {
      throw new TypeError(`pseudonym tags are 8 lowercase hex digits, got "${tag}"`);
    }
    tags.set(`${kind}:${value}`, tag);
  }
  patch(bytes, slots, tags);
  return bytes;
}

/**
 * Masks every string value of a JSON document with the WebAssembly scanner:
 * the drop-in fast form of {@linkcode maskJsonReference}, with the same
 * result for every input `JSON.stringify` could have written. Keys, numbers
 * and structure never change; escapes are decoded before detection; the
 * output is valid JSON. Other input keeps its own spelling (whitespace,
 * number format, escapes) outside the masked spans; a lone surrogate written
 * raw in a string (`JSON.stringify` always escapes them) reads as U+FFFD.
 *
 * With `options.pseudonym`, replacements are `[KIND:tag]` and the callback is
 * called once per distinct detected value. For WebCrypto tags use
 * {@linkcode maskJsonPseudonymized}.
 *
 * @example
 * ```ts
 * import { DEFAULT_MASK_OPTIONS, maskJson } from "@sluice/redact";
 * import assert from "node:assert/strict";
 *
 * const event = JSON.stringify({
 *   content: "I'm ana@example.com, card 4111 1111 1111 1111",
 *   image: "data:image/png;base64," + "A".repeat(1600),
 *   tokens: 12,
 * });
 * assert.equal(
 *   maskJson(event, DEFAULT_MASK_OPTIONS),
 *   '{"content":"I\'m [EMAIL], card [CREDIT_CARD]",' +
 *     '"image":"data:image/png;base64,[stripped 1.2 KB]","tokens":12}',
 * );
 * ```
 * @param json A JSON document.
 * @param options What to detect and how to replace it.
 * @returns The masked document.
 * @throws {SyntaxError} When `json` is not valid JSON.
 * @throws {RangeError} For an unknown detector or a bad `base64MinLength`.
 */
export function maskJson(json: string, options: MaskOptions): string {
  if (wasm() === null) return maskJsonReference(json, options);
  const out = options.pseudonym !== undefined
    ? maskWithCallback(json, options)
    : run(json, flagsOf(options, false), options.base64MinLength).out;
  // Nothing replaced: the output is the input, byte for byte.
  return out === null ? json : decoder.decode(out);
}

/**
 * The bytes-in, bytes-out form of {@linkcode maskJson}: `bytes` is a UTF-8
 * JSON document (for example a request body or a log line as read), and the
 * result is the masked document's UTF-8 bytes, a new array. Invalid UTF-8
 * inside a string is a `SyntaxError`.
 *
 * @example
 * ```ts
 * import { DEFAULT_MASK_OPTIONS, maskJsonBytes } from "@sluice/redact";
 * import assert from "node:assert/strict";
 *
 * const body = new TextEncoder().encode('{"ip":"203.0.113.7"}');
 * const masked = maskJsonBytes(body, DEFAULT_MASK_OPTIONS);
 * assert.equal(new TextDecoder().decode(masked), '{"ip":"[IPV4]"}');
 * ```
 * @param bytes A JSON document, UTF-8 encoded (no byte order mark).
 * @param options What to detect and how to replace it.
 * @returns The masked document, UTF-8 encoded.
 * @throws {SyntaxError} When `bytes` is not valid JSON or not valid UTF-8.
 * @throws {RangeError} For an unknown detector or a bad `base64MinLength`.
 */
export function maskJsonBytes(bytes: Uint8Array, options: MaskOptions): Uint8Array {
  if (wasm() === null) {
    let text: string;
    try {
      text = strictDecoder.decode(bytes);
    } catch (error) {
      throw new SyntaxError("Invalid UTF-8 in a JSON document", { cause: error });
    }
    return encoder.encode(maskJsonReference(text, options));
  }
  if (options.pseudonym !== undefined) return maskWithCallback(bytes, options) ?? copyOf(bytes);
  return copyOf(run(bytes, flagsOf(options, false), options.base64MinLength).out ?? bytes);
}

/**
 * Masks a JSON document with keyed pseudonyms (`[EMAIL:9f2c41d0]`), in two
 * phases: the WebAssembly scanner writes the document with placeholder tags
 * and reports where each detected value was; the tags, HMAC-SHA256 of
 * `KIND:value` keyed with `secret` (first 8 hex digits), are computed with
 * WebCrypto once per distinct value and written in place. The result equals
 * {@linkcode maskJsonReference} with the callback of
 * {@linkcode pseudonymLookup} for the same secret. `options.pseudonym` is
 * ignored.
 *
 * @example
 * ```ts
 * import { DEFAULT_MASK_OPTIONS, maskJsonPseudonymized } from "@sluice/redact";
 * import assert from "node:assert/strict";
 *
 * const json = '{"from":"ana@example.com","to":["ana@example.com"]}';
 * const masked = JSON.parse(await maskJsonPseudonymized(json, DEFAULT_MASK_OPTIONS, "s3cret"));
 * assert.match(masked.from, /^\[EMAIL:[0-9a-f]{8}\]$/);
 * assert.equal(masked.to[0], masked.from);
 * ```
 * @param json A JSON document.
 * @param options What to detect; base64 spans are never tagged.
 * @param secret The pseudonym key; must not be empty.
 * @returns The masked document.
 * @throws {SyntaxError} When `json` is not valid JSON.
 * @throws {RangeError} When `secret` is empty, for an unknown detector or a bad `base64MinLength`.
 */
export async function maskJsonPseudonymized(
  json: string,
  options: MaskOptions,
  secret: string,
): Promise<string> {
  const plain: MaskOptions = {
    detectors: options.detectors,
    stripBase64: options.stripBase64,
    base64MinLength: options.base64MinLength,
  };
  if (wasm() === null) {
    const pseudonym = await pseudonymLookup(secret, collectDetections(json, plain));
    return maskJsonReference(json, { ...plain, pseudonym });
  }
  const { out, slots } = run(json, flagsOf(plain, true), plain.base64MinLength);
  // Copy out before awaiting: another call may reuse the module's memory meanwhile.
  const bytes = out === null ? null : copyOf(out);
  const items = distinct(slots);
  if (items.length === 0) {
    // Nothing to tag: no WebCrypto round trip.
    if (secret.length === 0) {
      throw new RangeError("pseudonym secret is empty; set pseudonym_secret or leave it out");
    }
    return bytes === null ? json : decoder.decode(bytes);
  }
  const tags = await pseudonymTags(secret, items);
  if (bytes === null) return json;
  patch(bytes, slots, new Map(items.map(({ kind, value }, i) => [`${kind}:${value}`, tags[i]])));
  return decoder.decode(bytes);
}
