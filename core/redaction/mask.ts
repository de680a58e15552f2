/**
 * The masking step: PII and secret detectors and base64 stripping over an
 * event's JSON text, with the policy's options. It runs the TypeScript
 * reference of `@sluice/redact` until the WebAssembly core replaces it.
 * @module
 */
import { maskJsonReference } from "@sluice/redact/reference";
import type { EffectivePolicy } from "./policy.ts";

/** Masks one event's JSON text under `policy` (fixed masks such as `[EMAIL]`). */
export function maskWithReference(json: string, policy: EffectivePolicy): string {
  return maskJsonReference(json, {
    detectors: policy.detectors,
    stripBase64: policy.stripBase64,
    base64MinLength: policy.base64MinLength,
  });
}
