/**
 * Deterministic sampling by request id.
 * @module
 */

/**
 * A number in [0, 1) derived from `id` (the first 48 bits of its SHA-256).
 * An event is sent when its score is below the sample rate, so the decision
 * is the same for every retry of the same event and uniformly spread over
 * events.
 *
 * @param id The event's `request_id`.
 * @returns The sampling score.
 *
 * @example
 * ```ts
 * import { sampleScore } from "@sluice/sentry";
 * const score = await sampleScore("9ec79c33-ec99-42ab-8353-589fcb2e04dc");
 * const sent = score < 0.25; // the same answer every time for this id
 * ```
 */
export async function sampleScore(id: string): Promise<number> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(id)),
  );
  let value = 0;
  for (let i = 0; i < 6; i++) value = value * 256 + digest[i];
  return value / 2 ** 48;
}
