/**
 * Runs a LiteLLM `config.yaml` as the CLI would, for the observability sink
 * tests: checks it first (every problem is returned, so a test can assert
 * that a callback raises no "not supported" warning), serves it with a
 * loopback upstream, runs the test's calls with the openai client, closes
 * the gateway (flushing sinks) and restores the environment variables the
 * config's `environment_variables` set.
 * @module
 */
import OpenAI from "openai";
import { stringify } from "npm:yaml@2.9.1";
import { checkConfig, type ConfigProblem, loadConfig } from "../../core/mod.ts";
import { startGateway } from "./gateway.ts";
import { startUpstream } from "./upstream.ts";

/** The upstream key the configs use (it must never reach a sink). */
export const LITELLM_UPSTREAM_KEY = "sk-upstream-litellm-run-0000";
/** The master key the configs use (it must never reach a sink). */
export const LITELLM_MASTER_KEY = "sk-1234-litellm-run-master";

/**
 * Writes `doc` (plus a `gpt-4o` model on a loopback upstream and a master
 * key) as config.yaml, checks and loads it, serves it, runs `calls`.
 *
 * @returns The problems the check reported (warnings included).
 */
export async function runLiteLLMConfig(
  doc: Record<string, unknown>,
  calls: (client: OpenAI) => Promise<void>,
): Promise<ConfigProblem[]> {
  const upstream = startUpstream();
  const dir = await Deno.makeTempDir();
  const environment = (doc.environment_variables ?? {}) as Record<string, string>;
  const before = Object.fromEntries(Object.keys(environment).map((k) => [k, Deno.env.get(k)]));
  try {
    const full = {
      model_list: [{
        model_name: "gpt-4o",
        litellm_params: {
          model: "openai/gpt-4o",
          api_base: upstream.url,
          api_key: LITELLM_UPSTREAM_KEY,
          max_retries: 0,
        },
      }],
      general_settings: { master_key: LITELLM_MASTER_KEY },
      ...doc,
    };
    const env = (name: string) => environment[name] ?? Deno.env.get(name);
    const check = await checkConfig(full, { env, baseDir: dir });
    await Deno.writeTextFile(`${dir}/config.yaml`, stringify(full));
    const config = await loadConfig(`${dir}/config.yaml`);
    const gw = await startGateway({
      ...config,
      server: { ...config.server, data_dir: `${dir}/data` },
      sinks: config.sinks.map((s) => ({ ...s, queue: { ...s.queue, flush_interval_ms: 10 } })),
    });
    try {
      await calls(
        new OpenAI({ apiKey: LITELLM_MASTER_KEY, baseURL: `${gw.url}/v1`, maxRetries: 0 }),
      );
    } finally {
      await gw.close();
    }
    return check.problems;
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) Deno.env.delete(k);
      else Deno.env.set(k, v);
    }
    await upstream.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Throws when `text` holds the upstream or master key. */
export function assertNoGatewaySecrets(text: string): void {
  for (const s of [LITELLM_UPSTREAM_KEY, LITELLM_MASTER_KEY]) {
    if (text.includes(s)) throw new Error(`${s} reached a sink`);
  }
}
