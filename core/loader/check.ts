/**
 * `--check` for sinks: each built-in or local plugin's entry goes through
 * what start does before creating the sink (see `checkSink`): the
 * definition is imported as start imports it, its `config:` validated with
 * its `configSchema`, and what it asks for checked against the entry's
 * grant. Nothing is created and nothing connects anywhere; remote and
 * registry plugins are listed as not checked (nothing is fetched).
 * @module
 */
import type { ConfigProblem } from "../config/env.ts";
import type { SinkConfig } from "../config/types.ts";
import { errorMessage } from "./errors.ts";
import { checkSink } from "./load.ts";
import { maskSecrets } from "./secrets.ts";
import { displaySource, parseSource } from "./source.ts";

/** Problems of the `sinks:` entries' plugins, at `sinks[i].config.<field>`, `.permissions` or `.use`. */
export async function checkSinkConfigs(
  entries: readonly SinkConfig[],
  baseDir: string,
  secrets: Iterable<string> = [],
): Promise<ConfigProblem[]> {
  const masked = [...secrets];
  const signal = new AbortController().signal;
  const checks = entries.map(async (entry, i): Promise<ConfigProblem[]> => {
    const at = `sinks[${i}]`;
    try {
      const source = parseSource(entry.use, baseDir);
      if (source.kind !== "builtin" && source.kind !== "file") {
        return [{
          path: `${at}.config`,
          severity: "warning",
          message: `not checked: --check does not fetch ${displaySource(entry.use)}; ` +
            "its config and permissions are checked when the gateway starts",
        }];
      }
      const found = await checkSink(entry, { baseDir, secrets: masked, signal });
      return found.map((p) => ({ path: at + p.path, severity: "error", message: p.message }));
    } catch (error) {
      return [{ path: `${at}.use`, severity: "error", message: errorMessage(error) }];
    }
  });
  const problems = (await Promise.all(checks)).flat();
  // A plugin's messages may quote what it was given.
  for (const p of problems) p.message = maskSecrets(p.message, masked);
  return problems;
}
