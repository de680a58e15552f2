/**
 * Windowed call statistics for the console's overview, computed from one
 * scan of the window's rows.
 * @module
 */

/** The window of {@link SqliteStore.stats}; times are epoch milliseconds. */
export interface StatsWindow {
  /** Start, inclusive. */
  from: number;
  /** End, exclusive. */
  to: number;
  /** Bucket width (default 60,000: per minute; at most 10,000 buckets per window). */
  bucketMs?: number;
  /** Rows kept in each `by*` list, largest cost first (default 10). */
  top?: number;
}

/** Figures of one bucket of the window. */
export interface StatsBucket {
  /** The bucket's start (epoch ms). */
  start: number;
  /** Calls that started in it. */
  calls: number;
  /** Of which failed. */
  errors: number;
  /** Median response time (ms), null without calls. */
  p50_ms: number | null;
  /** 95th percentile response time (ms). */
  p95_ms: number | null;
  /** Median time to first token (ms), null without one. */
  ttft_p50_ms: number | null;
  /** Input tokens. */
  prompt_tokens: number;
  /** Output tokens. */
  completion_tokens: number;
  /** USD (calls with a known price). */
  cost: number;
}

/** Totals over the window. */
export interface StatsTotals {
  /** Calls. */
  calls: number;
  /** Failed calls. */
  errors: number;
  /** Median response time (ms). */
  p50_ms: number | null;
  /** 95th percentile response time (ms). */
  p95_ms: number | null;
  /** Median time to first token (ms). */
  ttft_p50_ms: number | null;
  /** 95th percentile time to first token (ms). */
  ttft_p95_ms: number | null;
  /** Input tokens. */
  prompt_tokens: number;
  /** Output tokens. */
  completion_tokens: number;
  /** USD. */
  cost: number;
}

/** Calls, errors, tokens and cost of one model, team or key. */
export interface StatsGroup {
  /** The model group, team or key (alias, else `sha256:` and 12 hex of its hash); null when unset. */
  key: string | null;
  /** Calls. */
  calls: number;
  /** Failed calls. */
  errors: number;
  /** Input plus output tokens. */
  tokens: number;
  /** USD. */
  cost: number;
}

/** What {@link SqliteStore.stats} returns. */
export interface CallStats {
  /** The window's start. */
  from: number;
  /** The window's end. */
  to: number;
  /** The bucket width. */
  bucketMs: number;
  /** Every bucket of the window, oldest first (empty ones included). */
  buckets: StatsBucket[];
  /** The whole window. */
  totals: StatsTotals;
  /** By model group. */
  byModel: StatsGroup[];
  /** By team. */
  byTeam: StatsGroup[];
  /** By key. */
  byKey: StatsGroup[];
}

/**
 * A row of the stats scan: start_time, status, response_time_ms, ttft_ms,
 * prompt_tokens, completion_tokens, cost, model_group, team, key_alias,
 * key_hash.
 */
export type StatsRow = [
  number,
  string,
  number,
  number | null,
  number,
  number,
  number | null,
  string | null,
  string | null,
  string | null,
  string | null,
];

/** Nearest-rank percentile of ascending-sorted values. */
function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}

const ascending = (a: number, b: number) => a - b;

interface Acc {
  calls: number;
  errors: number;
  latency: number[];
  ttft: number[];
  prompt: number;
  completion: number;
  cost: number;
}

const newAcc = (): Acc => ({
  calls: 0,
  errors: 0,
  latency: [],
  ttft: [],
  prompt: 0,
  completion: 0,
  cost: 0,
});

function group(map: Map<string | null, StatsGroup>, key: string | null): StatsGroup {
  let entry = map.get(key);
  if (!entry) {
    entry = { key, calls: 0, errors: 0, tokens: 0, cost: 0 };
    map.set(key, entry);
  }
  return entry;
}

function topOf(map: Map<string | null, StatsGroup>, top: number): StatsGroup[] {
  return [...map.values()]
    .sort((a, b) => b.cost - a.cost || b.calls - a.calls)
    .slice(0, top);
}

/** Computes {@link CallStats} from the window's rows. */
export function computeStats(window: StatsWindow, rows: Iterable<StatsRow>): CallStats {
  const span = Math.max(0, window.to - window.from);
  const bucketMs = Math.max(window.bucketMs ?? 60_000, Math.ceil(span / 10_000), 1);
  const count = Math.ceil(span / bucketMs);
  const accs = Array.from({ length: count }, newAcc);
  const total = newAcc();
  const models = new Map<string | null, StatsGroup>();
  const teams = new Map<string | null, StatsGroup>();
  const keys = new Map<string | null, StatsGroup>();
  for (const row of rows) {
    const [start, status, latency, ttft, prompt, completion, cost, model, team, alias, hash] = row;
    const index = Math.min(count - 1, Math.floor((start - window.from) / bucketMs));
    const failed = status === "failure" ? 1 : 0;
    for (const acc of [accs[index], total]) {
      acc.calls++;
      acc.errors += failed;
      acc.latency.push(latency);
      if (ttft !== null) acc.ttft.push(ttft);
      acc.prompt += prompt;
      acc.completion += completion;
      acc.cost += cost ?? 0;
    }
    const key = alias ?? (hash ? `sha256:${hash.slice(0, 12)}` : null);
    for (const entry of [group(models, model), group(teams, team), group(keys, key)]) {
      entry.calls++;
      entry.errors += failed;
      entry.tokens += prompt + completion;
      entry.cost += cost ?? 0;
    }
  }
  const buckets = accs.map((acc, i): StatsBucket => {
    acc.latency.sort(ascending);
    acc.ttft.sort(ascending);
    return {
      start: window.from + i * bucketMs,
      calls: acc.calls,
      errors: acc.errors,
      p50_ms: percentile(acc.latency, 0.5),
      p95_ms: percentile(acc.latency, 0.95),
      ttft_p50_ms: percentile(acc.ttft, 0.5),
      prompt_tokens: acc.prompt,
      completion_tokens: acc.completion,
      cost: acc.cost,
    };
  });
  total.latency.sort(ascending);
  total.ttft.sort(ascending);
  const top = window.top ?? 10;
  return {
    from: window.from,
    to: window.to,
    bucketMs,
    buckets,
    totals: {
      calls: total.calls,
      errors: total.errors,
      p50_ms: percentile(total.latency, 0.5),
      p95_ms: percentile(total.latency, 0.95),
      ttft_p50_ms: percentile(total.ttft, 0.5),
      ttft_p95_ms: percentile(total.ttft, 0.95),
      prompt_tokens: total.prompt,
      completion_tokens: total.completion,
      cost: total.cost,
    },
    byModel: topOf(models, top),
    byTeam: topOf(teams, top),
    byKey: topOf(keys, top),
  };
}
