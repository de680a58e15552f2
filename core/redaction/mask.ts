/**
 * The masking step: PII and secret detectors and base64 stripping over an
 * event's JSON text, with the policy's options, in one call to the
 * WebAssembly core of `@sluice/redact` (its TypeScript reference runs where
 * WebAssembly is unavailable). With a `pseudonym_secret`, replacements are
 * keyed pseudonyms computed with WebCrypto (asynchronous); if that fails the
 * fixed masks are used, so an event is never lost and never leaves unmasked.
 * @module
 */
import { maskJson, maskJsonPseudonymized, type MaskOptions } from "@sluice/redact";
import type { EffectivePolicy } from "./policy.ts";

function optionsOf(policy: EffectivePolicy): MaskOptions {
  return {
    detectors: policy.detectors,
    stripBase64: policy.stripBase64,
    base64MinLength: policy.base64MinLength,
  };
}

/** Masks one event's JSON text under `policy`: `[EMAIL]`, or `[EMAIL:tag]` with a pseudonym secret. */
export function maskEventJson(json: string, policy: EffectivePolicy): string | Promise<string> {
  const options = optionsOf(policy);
  const secret = policy.pseudonymSecret;
  if (!secret || options.detectors.length === 0) return maskJson(json, options);
  return pseudonymized(json, options, secret);
}

async function pseudonymized(json: string, options: MaskOptions, secret: string): Promise<string> {
  try {
    return await maskJsonPseudonymized(json, options, secret);
  } catch (error) {
    console.error(`sluice: keyed pseudonyms failed, using fixed masks: ${error}`);
    return maskJson(json, options);
  }
}
