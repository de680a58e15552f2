/**
 * Call cost in USD from token counts: per-model prices from config first,
 * else the built-in table (`prices.json`), matched by the longest prefix.
 * @module
 */
import prices from "./prices.json" with { type: "json" };
import type { ModelConfig } from "../config/types.ts";
import type { LogEventCostBreakdown } from "../event/log_event.ts";

/** Per-token prices in USD. */
export interface ModelPrice {
  /** Per input token. */
  input: number;
  /** Per output token. */
  output: number;
  /** Per cached input token read (default: the input price). */
  cache_read?: number;
  /** Per cached input token written (default: the input price). */
  cache_creation?: number;
}

const TABLE = Object.entries(prices as Record<string, unknown>)
  .filter(([k]) => !k.startsWith("$"))
  .sort(([a], [b]) => b.length - a.length) as [string, ModelPrice][];

/** The built-in price of an upstream model id (longest matching prefix), if listed. */
export function builtInPrice(model: string): ModelPrice | undefined {
  const id = model.replace(/^[a-z]+\//, "");
  for (const [key, price] of TABLE) {
    if (id === key || id.startsWith(key + "-") || id.startsWith(key + "@")) return price;
  }
  return undefined;
}

/** The price of a deployment: config overrides the table; undefined when unknown. */
export function priceOf(config: ModelConfig, upstreamModel: string): ModelPrice | undefined {
  const table = builtInPrice(upstreamModel);
  if (config.input_cost_per_token === undefined && config.output_cost_per_token === undefined) {
    return table;
  }
  return {
    ...table,
    input: config.input_cost_per_token ?? table?.input ?? 0,
    output: config.output_cost_per_token ?? table?.output ?? 0,
  };
}

/** Token counts to price. */
export interface TokenCounts {
  /** All input tokens (cached ones included). */
  prompt: number;
  /** Output tokens. */
  completion: number;
  /** Input tokens read from cache. */
  cacheRead?: number;
  /** Input tokens written to cache. */
  cacheCreation?: number;
}

/** Computes the cost; cached input is billed at its own price. */
export function computeCost(
  price: ModelPrice,
  tokens: TokenCounts,
): { total: number; breakdown: LogEventCostBreakdown } {
  const cacheRead = tokens.cacheRead ?? 0;
  const cacheCreation = tokens.cacheCreation ?? 0;
  const plain = Math.max(0, tokens.prompt - cacheRead - cacheCreation);
  const breakdown = {
    input: plain * price.input,
    output: tokens.completion * price.output,
    cache_read: cacheRead * (price.cache_read ?? price.input),
    cache_creation: cacheCreation * (price.cache_creation ?? price.input),
  };
  const total = breakdown.input + breakdown.output + breakdown.cache_read +
    breakdown.cache_creation;
  return { total, breakdown };
}
