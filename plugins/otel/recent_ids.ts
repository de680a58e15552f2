/**
 * A bounded set of recent ids: the oldest is forgotten once it is full.
 * @module
 */

/** The last `capacity` ids added, in insertion order. */
export class RecentIds {
  readonly #ids = new Set<string>();
  readonly #capacity: number;

  /** A set that keeps at most `capacity` ids. */
  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Whether `id` was added and not yet forgotten. */
  has(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Adds `id`, forgetting the oldest when full. */
  add(id: string): void {
    this.#ids.delete(id);
    this.#ids.add(id);
    if (this.#ids.size > this.#capacity) this.#ids.delete(this.#ids.values().next().value!);
  }
}
