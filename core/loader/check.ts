/**
 * `--check` for sinks: each entry's plugin definition is imported (built-in
 * short names and local paths only: nothing is fetched) and its `config:`
 * validated with the same `configSchema` the gateway uses at start, so
 * `--check` finds what startup would. Nothing is created and nothing
 * connects anywhere; remote and registry plugins are listed as not checked.
 * @module
 */
import type { ConfigProblem } from "../config/env.ts";
import type { SinkConfig } from "../config/types.ts";
import { configIssues } from "./config_schema.ts";
import { shapeOf, validateShape } from "./definition.ts";
import { errorMessage } from "./errors.ts";
import { importBuiltin, importModule } from "./import.ts";
import { maskSecrets } from "./secrets.ts";
import { displaySource, parseSource } from "./source.ts";

/** Problems of the `sinks:` entries' plugin configs, at `sinks[i].config.<field>`. */
export async function checkSinkConfigs(
  entries: readonly SinkConfig[],
  baseDir: string,
  secrets: Iterable<string> = [],
): Promise<ConfigProblem[]> {
  const checks = entries.map(async (entry, i): Promise<ConfigProblem[]> => {
    const at = `sinks[${i}]`;
    try {
      const source = parseSource(entry.use, baseDir);
      if (source.kind !== "builtin" && source.kind !== "file") {
        return [{
          path: `${at}.config`,
          severity: "warning",
          message: `not checked: --check does not fetch ${displaySource(entry.use)}; ` +
            "its config is validated when the gateway starts",
        }];
      }
      const mod = source.kind === "builtin"
        ? await importBuiltin(source)
        : await importModule(source.url, displaySource(entry.use));
      const meta = validateShape(shapeOf(mod));
      return configIssues(meta.configSchema, entry.config ?? {}).map((issue) => ({
        path: `${at}.config${issue.path}`,
        severity: "error",
        message: `${issue.message} (plugin "${meta.name}" ${meta.version})`,
      }));
    } catch (error) {
      return [{ path: `${at}.use`, severity: "error", message: errorMessage(error) }];
    }
  });
  const problems = (await Promise.all(checks)).flat();
  // A plugin's messages may quote what it was given.
  for (const p of problems) p.message = maskSecrets(p.message, secrets);
  return problems;
}
