/**
 * Checks a schema-valid config for what a schema cannot express: references
 * between sections, duplicates, and likely mistakes (as warnings).
 * @module
 */
import type { ConfigProblem } from "./env.ts";
import type { GatewayConfig } from "./types.ts";
import { didYouMean } from "./did_you_mean.ts";
import { allowListAdmits, isModelPattern, ModelNames } from "../providers/model_pattern.ts";

/** The name a sink entry is known by: its `name`, else the plugin name from `use`. */
export function sinkInstanceName(use: string, name?: string): string {
  if (name) return name;
  const base = use.replace(/[?#].*$/, "").replace(/\/+$/, "").split("/").pop() ?? use;
  return base.replace(/^(jsr:|npm:)/, "").replace(/@[^@]*$/, "").replace(/\.(ts|js|mjs)$/, "") ||
    use;
}

/** Problems that need the whole config to see. */
export function checkSemantics(config: GatewayConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const error = (path: string, message: string) =>
    problems.push({ path, message, severity: "error" });
  const warn = (path: string, message: string) =>
    problems.push({ path, message, severity: "warning" });
  const unknownRef = (path: string, what: string, name: string, known: string[]) => {
    const guess = didYouMean(name, known);
    error(
      path,
      `unknown ${what} "${name}"` + (guess ? `; did you mean "${guess}"?` : "") +
        ` (defined: ${known.length ? known.join(", ") : "none"})`,
    );
  };

  const sinkNames: string[] = [];
  config.sinks.forEach((sink, i) => {
    const name = sinkInstanceName(sink.use, sink.name);
    if (sinkNames.includes(name)) {
      error(`sinks[${i}].name`, `duplicate sink name "${name}"; give each instance its own name`);
    }
    sinkNames.push(name);
  });

  const modelNames = [...new Set(config.models.map((m) => m.name))];
  const servedNames = new ModelNames(modelNames);
  const modelIds = new Set<string>();
  config.models.forEach((m, i) => {
    if (m.id !== undefined) {
      if (modelIds.has(m.id)) error(`models[${i}].id`, `duplicate model id "${m.id}"`);
      modelIds.add(m.id);
    }
    if (m.model !== undefined && isModelPattern(m.model) && !isModelPattern(m.name)) {
      warn(
        `models[${i}].model`,
        `has "*" but name "${m.name}" has none: the upstream receives the model "${m.model}" as written`,
      );
    }
    if (m.provider === "azure" && !m.api_base) {
      error(
        `models[${i}].api_base`,
        "is required for provider azure (https://<resource>.openai.azure.com)",
      );
    }
    if ((m.provider === "openai" || m.provider === "anthropic") && !m.api_key && !m.api_base) {
      warn(
        `models[${i}].api_key`,
        `not set: requests to the public ${m.provider} API will be rejected`,
      );
    }
  });
  if (config.models.length === 0) warn("models", "no models defined: every request will get 404");

  const teamNames = config.teams.map((t) => t.name);
  config.teams.forEach((team, i) => {
    if (teamNames.indexOf(team.name) !== i) {
      error(`teams[${i}].name`, `duplicate team "${team.name}"`);
    }
    team.sinks?.forEach((s, j) => {
      if (!sinkNames.includes(s)) unknownRef(`teams[${i}].sinks[${j}]`, "sink", s, sinkNames);
    });
  });

  const keys = new Set<string>();
  config.keys.forEach((key, i) => {
    if (keys.has(key.key) || key.key === config.server.master_key) {
      error(`keys[${i}].key`, "duplicate key (each virtual key and the master key must differ)");
    }
    keys.add(key.key);
    if (key.team !== undefined && !teamNames.includes(key.team)) {
      unknownRef(`keys[${i}].team`, "team", key.team, teamNames);
    }
    key.sinks?.forEach((s, j) => {
      if (!sinkNames.includes(s)) unknownRef(`keys[${i}].sinks[${j}]`, "sink", s, sinkNames);
    });
    key.models?.forEach((m, j) => {
      // A name served exactly or by a wildcard, or a wildcard admitting a configured name.
      const served = servedNames.resolve(m) !== undefined ||
        (isModelPattern(m) && modelNames.some((n) => allowListAdmits([m], n)));
      if (!served) {
        const guess = didYouMean(m, modelNames);
        warn(
          `keys[${i}].models[${j}]`,
          `no model named "${m}"` + (guess ? `; did you mean "${guess}"?` : ""),
        );
      }
    });
  });
  return problems;
}
