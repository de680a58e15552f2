/**
 * `@sluice/redact`: masks PII and secrets inside the string values of a JSON
 * document (emails, phone numbers, card numbers, IBANs, US SSNs, IPv4/IPv6
 * addresses, API keys, JWTs, private keys, bearer tokens) and strips base64
 * payloads down to a size placeholder. Keys, numbers and structure never
 * change; the output is valid JSON and valid UTF-8.
 *
 * This release ships the TypeScript reference implementation; the
 * WebAssembly scanner that must match it byte for byte comes next.
 * `DETECTORS.md` is the exact specification of every detector.
 *
 * @example Mask an event
 * ```ts
 * import { DEFAULT_MASK_OPTIONS, maskJsonReference } from "@sluice/redact";
 * import assert from "node:assert/strict";
 *
 * const event = JSON.stringify({
 *   content: "I'm ana@example.com, card 4111 1111 1111 1111",
 *   image: "data:image/png;base64," + "A".repeat(1600),
 *   tokens: 12,
 * });
 * assert.deepEqual(JSON.parse(maskJsonReference(event, DEFAULT_MASK_OPTIONS)), {
 *   content: "I'm [EMAIL], card [CREDIT_CARD]",
 *   image: "data:image/png;base64,[stripped 1.2 KB]",
 *   tokens: 12,
 * });
 * ```
 *
 * @example Keyed pseudonyms, stable across events
 * ```ts
 * import {
 *   collectDetections,
 *   DEFAULT_MASK_OPTIONS,
 *   maskJsonReference,
 *   pseudonymLookup,
 * } from "@sluice/redact";
 * import assert from "node:assert/strict";
 *
 * const json = '{"from":"ana@example.com"}';
 * const pseudonym = await pseudonymLookup("s3cret", collectDetections(json, DEFAULT_MASK_OPTIONS));
 * const masked = maskJsonReference(json, { ...DEFAULT_MASK_OPTIONS, pseudonym });
 * assert.match(masked, /^\{"from":"\[EMAIL:[0-9a-f]{8}\]"\}$/);
 * ```
 * @module
 */
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
