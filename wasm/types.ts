/**
 * Public types and constants of `@sluice/redact`: detector names, spans and
 * the options every masking function takes.
 * @module
 */

/** Name of a PII or secret detector; also the word in its replacement (`[EMAIL]`). */
export type DetectorName =
  | "EMAIL"
  | "PHONE"
  | "CREDIT_CARD"
  | "IBAN"
  | "US_SSN"
  | "IPV4"
  | "IPV6"
  | "SECRET";

/** Every detector, in the order the issue lists them (not the precedence order). */
export const DETECTOR_NAMES: readonly DetectorName[] = Object.freeze([
  "EMAIL",
  "PHONE",
  "CREDIT_CARD",
  "IBAN",
  "US_SSN",
  "IPV4",
  "IPV6",
  "SECRET",
]);

/**
 * What a span covers: a detector's match, a base64 data URL (`DATA_URL`) or a
 * bare base64 run (`BASE64`). The last two exist only when `stripBase64` is on.
 */
export type SpanKind = DetectorName | "DATA_URL" | "BASE64";

/** A detected range of a decoded string, in UTF-16 code units, end exclusive. */
export interface Span {
  /** Index of the first code unit. */
  start: number;
  /** Index after the last code unit. */
  end: number;
  /** What was found there. */
  kind: SpanKind;
}

/**
 * Computes the keyed pseudonym tag for one detected value: 8 lowercase hex
 * digits. Must be synchronous; see {@linkcode pseudonymLookup} for the
 * two-phase use with WebCrypto.
 */
export type PseudonymFn = (kind: DetectorName, value: string) => string;

/** How to mask: which detectors run, base64 stripping, and optional pseudonyms. */
export interface MaskOptions {
  /** Detectors to run; the others are ignored. */
  detectors: readonly DetectorName[];
  /** Replace base64 data URL payloads and long bare base64 runs by a size placeholder. */
  stripBase64: boolean;
  /** A bare base64 run is stripped when it has at least this many base64 characters (padding not counted). */
  base64MinLength: number;
  /** When set, detector replacements are `[KIND:tag]` with the tag this returns. */
  pseudonym?: PseudonymFn;
}

/** The gateway's defaults: every detector, base64 stripping on, runs of 256 or more. */
export const DEFAULT_MASK_OPTIONS: Readonly<MaskOptions> = Object.freeze({
  detectors: DETECTOR_NAMES,
  stripBase64: true,
  base64MinLength: 256,
});

/** One detected value, the input of pseudonym tagging. */
export interface Detection {
  /** The detector that found it. */
  kind: DetectorName;
  /** The matched text, exactly as it appears in the decoded string. */
  value: string;
}
