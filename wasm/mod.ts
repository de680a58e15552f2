/**
 * `@sluice/redact`: masks PII and secrets inside the string values of a JSON
 * document (emails, phone numbers, card numbers, IBANs, US SSNs, IPv4/IPv6
 * addresses, API keys, JWTs, private keys, bearer tokens) and strips base64
 * payloads down to a size placeholder. Keys, numbers and structure never
 * change; the output is valid JSON and valid UTF-8.
 *
 * {@linkcode maskJson} (and its bytes form {@linkcode maskJsonBytes}) runs a
 * WebAssembly scanner over the document's UTF-8 bytes: one call per document,
 * vector scans to the next interesting byte, bulk copies of everything else.
 * Its output equals the TypeScript reference {@linkcode maskJsonReference}
 * byte for byte on every input `JSON.stringify` could have written; the
 * reference stays as the benchmark baseline and as the fallback where
 * WebAssembly is unavailable ({@linkcode wasmAvailable}). The module is
 * embedded, so the package works from a registry or a URL as well as from a
 * checkout. `DETECTORS.md` is the exact specification of every detector.
 *
 * @example Mask an event
 * ```ts
 * import { DEFAULT_MASK_OPTIONS, maskJson } from "@sluice/redact";
 * import assert from "node:assert/strict";
 *
 * const event = JSON.stringify({
 *   content: "I'm ana@example.com, card 4111 1111 1111 1111",
 *   image: "data:image/png;base64," + "A".repeat(1600),
 *   tokens: 12,
 * });
 * assert.deepEqual(JSON.parse(maskJson(event, DEFAULT_MASK_OPTIONS)), {
 *   content: "I'm [EMAIL], card [CREDIT_CARD]",
 *   image: "data:image/png;base64,[stripped 1.2 KB]",
 *   tokens: 12,
 * });
 * ```
 *
 * @example Keyed pseudonyms, stable across events
 * ```ts
 * import { DEFAULT_MASK_OPTIONS, maskJsonPseudonymized } from "@sluice/redact";
 * import assert from "node:assert/strict";
 *
 * const json = '{"from":"ana@example.com"}';
 * const masked = await maskJsonPseudonymized(json, DEFAULT_MASK_OPTIONS, "s3cret");
 * assert.match(masked, /^\{"from":"\[EMAIL:[0-9a-f]{8}\]"\}$/);
 * ```
 * @module
 */
export { maskJson, maskJsonBytes, maskJsonPseudonymized, wasmAvailable } from "./redact.ts";
export { collectDetections, findSpans, maskJsonReference, maskText } from "./reference.ts";
export { pseudonymLookup, pseudonymTags } from "./pseudonym.ts";
export {
  DEFAULT_MASK_OPTIONS,
  type Detection,
  DETECTOR_NAMES,
  type DetectorName,
  type MaskOptions,
  type PseudonymFn,
  type Span,
  type SpanKind,
} from "./types.ts";
