/**
 * Which redaction policy applies to one call on one sink: the sink's
 * `redaction` (else the global one), tightened by the key's and team's
 * `redaction` and the request's `mask_input` / `mask_output`; the
 * disable-redaction header (keys with `allow_redaction_opt_out`) turns
 * masking off except on `locked` sinks, and never turns `remove` into `keep`.
 * @module
 */
import type {
  DetectorName,
  MessagesPolicy,
  RedactionConfig,
  RedactionOverride,
} from "../config/types.ts";
import type { CallControls } from "../pipeline/controls.ts";
import { DETECTORS } from "../config/schema.ts";

/** Every detector, in the redaction core's order. */
export const ALL_DETECTORS: readonly DetectorName[] = DETECTORS;

/** The resolved policy for one event on one sink. */
export interface EffectivePolicy {
  /** What happens to the request's messages / input. */
  input: MessagesPolicy;
  /** What happens to the response. */
  output: MessagesPolicy;
  /** Detectors that mask string values (empty: none). */
  detectors: readonly DetectorName[];
  /** Replace base64 payloads with a size placeholder. */
  stripBase64: boolean;
  /** Bare base64 runs at least this long are stripped. */
  base64MinLength: number;
  /** Remove image, audio and file content parts. */
  dropNonTextParts: boolean;
  /** Remove `metadata.user_api_key_*`. */
  redactUserApiKeyInfo: boolean;
  /** Keyed pseudonyms instead of fixed masks. */
  pseudonymSecret?: string;
}

const RANK: Record<MessagesPolicy, number> = { keep: 0, mask: 1, remove: 2 };

function stricter(a: MessagesPolicy, b: MessagesPolicy | undefined): MessagesPolicy {
  return b !== undefined && RANK[b] > RANK[a] ? b : a;
}

function detectorsOf(value: RedactionOverride["detectors"]): DetectorName[] {
  if (value === undefined || value === "all") return [...ALL_DETECTORS];
  if (value === "none") return [];
  return ALL_DETECTORS.filter((d) => value.includes(d));
}

/** The policy of one sink for one call. */
export function effectivePolicy(
  global: RedactionConfig,
  sink: RedactionOverride | undefined,
  controls: CallControls,
): EffectivePolicy {
  // A sink's redaction replaces the global one; what it leaves out takes the safe defaults.
  const base: RedactionOverride = sink ?? global;
  let messages: MessagesPolicy = base.messages ?? "mask";
  let detectors = new Set(detectorsOf(base.detectors));
  let stripBase64 = base.strip_base64 ?? true;
  let base64MinLength = base.base64_min_length ?? 256;
  let dropNonTextParts = base.drop_non_text_parts ?? false;
  let redactUserApiKeyInfo = base.redact_user_api_key_info ?? false;
  const pseudonymSecret = base.pseudonym_secret ?? global.pseudonym_secret;
  const locked = base.locked ?? false;

  if (controls.disableRedaction && !locked) {
    // Masking off for this call; removal and structural rules stay.
    if (messages === "mask") messages = "keep";
    detectors = new Set();
    stripBase64 = false;
  }
  // Key and team settings can only tighten.
  for (const t of controls.redaction) {
    messages = stricter(messages, t.messages);
    if (t.detectors !== undefined) { for (const d of detectorsOf(t.detectors)) detectors.add(d); }
    if (t.strip_base64) stripBase64 = true;
    if (t.base64_min_length !== undefined) {
      base64MinLength = Math.min(base64MinLength, t.base64_min_length);
    }
    if (t.drop_non_text_parts) dropNonTextParts = true;
    if (t.redact_user_api_key_info) redactUserApiKeyInfo = true;
  }
  // `keep` logs content as sent: no detectors (base64 stripping is separate and stays).
  if (messages === "keep") detectors = new Set();
  return {
    input: controls.maskInput ? "remove" : messages,
    output: controls.maskOutput ? "remove" : messages,
    detectors: ALL_DETECTORS.filter((d) => detectors.has(d)),
    stripBase64,
    base64MinLength,
    dropNonTextParts,
    redactUserApiKeyInfo,
    pseudonymSecret,
  };
}

/** A string that is equal for equal policies: events are prepared once per distinct key. */
export function policyKey(p: EffectivePolicy): string {
  return [
    p.input,
    p.output,
    p.detectors.join(","),
    p.stripBase64 ? p.base64MinLength : 0,
    p.dropNonTextParts ? 1 : 0,
    p.redactUserApiKeyInfo ? 1 : 0,
    p.pseudonymSecret ?? "",
  ].join("|");
}
