/**
 * The output items of recent Responses calls this gateway answered by
 * translation, kept a short while so that a client which sends them back
 * as `{"type":"item_reference","id":…}` (the Vercel AI SDK does, by
 * default) gets the conversation it means. Bounded by count and age, per
 * process: a reference to an item older than an hour, evicted, or answered
 * by another serving isolate is not found.
 * @module
 */

type Obj = Record<string, unknown>;

/** How many items are kept at most. */
export const MAX_KEPT_ITEMS = 10_000;

/** How long an item is kept (ms). */
export const KEPT_ITEM_MS = 60 * 60 * 1000;

/** Recent output items by id. */
export class RecentItems {
  readonly #items = new Map<string, { item: Obj; at: number }>();

  /** Keeps the items that have an id (the oldest go first past {@link MAX_KEPT_ITEMS}). */
  keep(items: unknown, now = Date.now()): void {
    if (!Array.isArray(items)) return;
    for (const item of items) {
      if (typeof item !== "object" || item === null || typeof item.id !== "string") continue;
      this.#items.delete(item.id);
      this.#items.set(item.id, { item: item as Obj, at: now });
    }
    for (const id of this.#items.keys()) {
      if (this.#items.size <= MAX_KEPT_ITEMS) break;
      this.#items.delete(id);
    }
  }

  /** The item with this id, if it is still kept. */
  get(id: string, now = Date.now()): Obj | undefined {
    const kept = this.#items.get(id);
    if (!kept) return undefined;
    if (now - kept.at > KEPT_ITEM_MS) {
      this.#items.delete(id);
      return undefined;
    }
    return kept.item;
  }
}
