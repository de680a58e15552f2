/**
 * The embedded default config: what `deno run -A mod.ts` serves with no
 * `--config`: mock models and the console, JSONL and SQLite (`<data_dir>/sluice.db`, the store
 * the console reads) sinks, no keys, no network.
 * @module
 */
import type { GatewayConfigInput } from "./types.ts";

/** The config used when no `--config` is given. */
export const EMBEDDED_DEFAULT_CONFIG: GatewayConfigInput = {
  models: [
    {
      name: "mock-gpt",
      provider: "mock",
      model: "mock-gpt",
      // Priced like a small hosted model so the console shows what cost tracking looks like.
      input_cost_per_token: 1.5e-7,
      output_cost_per_token: 6e-7,
    },
    { name: "mock-embed", provider: "mock", model: "mock-embed", input_cost_per_token: 2e-8 },
  ],
  sinks: [
    { use: "console", queue: { flush_interval_ms: 50 } },
    { use: "jsonl", queue: { flush_interval_ms: 200 } },
    { use: "sqlite", queue: { flush_interval_ms: 200 } },
  ],
  // The console at /ui, for loopback clients only.
  ui: {},
};
