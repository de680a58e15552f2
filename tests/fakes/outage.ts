/**
 * The shared part of the loss tests: chat calls sent through a gateway while
 * a sink's receiver is down (answering 503, then refusing connections), and
 * the checks once it is back: every call answered, every call delivered
 * exactly once.
 * @module
 */
import assert from "node:assert/strict";

/**
 * Sends one chat call (model `mock-gpt`) per id through the gateway at
 * `url`, with the id as `x-sluice-call-id`, `concurrency` at a time.
 *
 * @returns Each id's HTTP status (0: no answer).
 */
export async function sendCalls(
  url: string,
  ids: string[],
  concurrency = 16,
): Promise<Map<string, number>> {
  const statuses = new Map<string, number>();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < ids.length) {
      const id = ids[next++];
      try {
        const res = await fetch(`${url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-sluice-call-id": id },
          body: JSON.stringify({
            model: "mock-gpt",
            messages: [{ role: "user", content: `call ${id}` }],
          }),
        });
        await res.body?.cancel();
        statuses.set(id, res.status);
      } catch {
        statuses.set(id, 0);
      }
    }
  }));
  return statuses;
}

/** What happens to the receiver during {@link sendThroughOutage}. */
export interface Outage {
  /** Resolves once the receiver has refused deliveries (with 503) at least once. */
  refused?: () => Promise<void>;
  /** Stops the receiver: from then on, connections are refused. */
  stop: () => Promise<void>;
}

/**
 * The outage: sends the first half of `ids` while the receiver answers 503,
 * waits for `outage.refused`, stops the receiver, sends the second half, and
 * asserts that every call was answered 200 (a sink's outage never reaches
 * the clients).
 */
export async function sendThroughOutage(
  url: string,
  ids: string[],
  outage: Outage,
): Promise<void> {
  const half = Math.floor(ids.length / 2);
  const first = await sendCalls(url, ids.slice(0, half));
  await outage.refused?.();
  await outage.stop();
  const second = await sendCalls(url, ids.slice(half));
  assert.deepEqual(
    [...new Set([...first.values(), ...second.values()])],
    [200],
    "every request succeeded",
  );
}

/** How many of `items` there are per key (e.g. spans per call id). */
export function countBy<T>(items: Iterable<T>, key: (item: T) => string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) {
    const k = key(item);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}

/** How many keys of `counts` were seen more than once. */
export function duplicateCount(counts: Map<string, number>): number {
  return [...counts.values()].filter((n) => n > 1).length;
}

/** Asserts that `counts` holds exactly `ids`, each once (`what` names the items). */
export function assertEachOnce(counts: Map<string, number>, ids: string[], what: string): void {
  assert.deepEqual([...counts.keys()].sort(), [...ids].sort(), `a ${what} for every call`);
  assert.equal(duplicateCount(counts), 0, `no duplicate ${what}s without a crash`);
}

/** The one wait-for-a-condition helper (the conformance kit's). */
export { until } from "../../core/testing.ts";
