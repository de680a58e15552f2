/**
 * `deno bench -A bench/recent_ids_bench.ts`: what remembering one more id
 * costs once `RecentIds` is full (the steady state of every sink runner's
 * delivery tracking, 20,000 ids, and of the otel, langfuse and sentry
 * sinks' sent ids, 100,000), against the `Set` it replaced, which forgot
 * its oldest id through `values().next()`: an iterator that walks past
 * every id deleted since the table was last rebuilt.
 * @module
 */
import { RecentIds } from "../core/sink_http.ts";

/** The replaced implementation, kept here to measure against. */
class SetEvictingByIterator {
  readonly #ids = new Set<string>();
  constructor(readonly capacity: number) {}
  has(id: string): boolean {
    return this.#ids.has(id);
  }
  add(id: string): void {
    this.#ids.delete(id);
    this.#ids.add(id);
    if (this.#ids.size > this.capacity) this.#ids.delete(this.#ids.values().next().value!);
  }
}

const BATCH = 1_000;

for (const capacity of [20_000, 100_000]) {
  const group = `one has + add per id, full at ${
    capacity.toLocaleString("en")
  } ids (${BATCH} ids per iteration)`;
  const ids = Array.from({ length: capacity * 4 }, () => crypto.randomUUID());
  for (
    const [name, made] of [
      ["RecentIds (map + queue)", new RecentIds(capacity)],
      ["Set evicting by iterator (before)", new SetEvictingByIterator(capacity)],
    ] as const
  ) {
    for (const id of ids.slice(0, capacity * 2)) made.add(id); // full, and well past it
    let next = 0;
    Deno.bench({
      name,
      group,
      baseline: made instanceof RecentIds,
      fn: () => {
        for (let i = 0; i < BATCH; i++) {
          const id = ids[next++ % ids.length];
          if (!made.has(id)) made.add(id);
        }
      },
    });
  }
}
