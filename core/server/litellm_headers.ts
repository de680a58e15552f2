/**
 * LiteLLM's response header names beside Sluice's own, for gateways run from
 * a LiteLLM config (`server.litellm_headers`), so clients and dashboards
 * built on LiteLLM's headers keep working.
 * @module
 */

const SAME_VALUE: readonly [string, string][] = [
  ["x-sluice-call-id", "x-litellm-call-id"],
  ["x-sluice-model-id", "x-litellm-model-id"],
  ["x-sluice-api-base", "x-litellm-model-api-base"],
  ["x-sluice-version", "x-litellm-version"],
  ["x-sluice-response-cost", "x-litellm-response-cost"],
  ["x-sluice-overhead-ms", "x-litellm-overhead-duration-ms"],
];

/** Adds LiteLLM's names for the Sluice headers present, and the response duration since `t0`. */
export function addLiteLLMHeaders(headers: Record<string, string>, t0: number): void {
  for (const [from, to] of SAME_VALUE) if (headers[from] !== undefined) headers[to] = headers[from];
  headers["x-litellm-response-duration-ms"] = (performance.now() - t0).toFixed(3);
}
