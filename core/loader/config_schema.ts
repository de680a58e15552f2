/**
 * Validates a sink entry's `config:` against the plugin's `configSchema`
 * (JSON Schema, with Ajv and the standard formats). Problems name their
 * path as `sinks[<name>].config.<field>`.
 * @module
 */
import { Ajv, type ErrorObject } from "ajv";
import addFormatsModule from "ajv-formats";
import type { JsonSchema } from "../plugin.ts";
import { errorMessage, LoadIssue } from "./errors.ts";

// ajv-formats is CommonJS: its default export is the plugin function itself.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** `/a/0/b` (a JSON Pointer) as `.a[0].b`. */
export function pointerToPath(pointer: string): string {
  if (pointer === "") return "";
  return pointer.split("/").slice(1).map((raw) => {
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (/^\d+$/.test(part)) return `[${part}]`;
    return /^[A-Za-z_$][\w$-]*$/.test(part) ? `.${part}` : `[${JSON.stringify(part)}]`;
  }).join("");
}

function describe(error: ErrorObject): string {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === "additionalProperties") {
    return `unknown key "${params.additionalProperty}"`;
  }
  if (error.keyword === "enum" && Array.isArray(params.allowedValues)) {
    return `${error.message}: ${params.allowedValues.map((v) => JSON.stringify(v)).join(", ")}`;
  }
  return error.message ?? error.keyword;
}

/**
 * Lists every problem of `config` under `schema` (empty when valid or when
 * there is no schema).
 * @throws {LoadIssue} `invalid_plugin` when the schema itself does not compile
 */
export function configProblems(
  schema: JsonSchema | undefined,
  config: unknown,
  sinkName: string,
): string[] {
  return configIssues(schema, config).map((issue) =>
    `sinks[${sinkName}].config${issue.path}: ${issue.message}`
  );
}

/**
 * Every problem of `config` under `schema`, each with its path inside the
 * config (`.bucket`, `.headers["x-a"]`; empty for the config itself).
 * @throws {LoadIssue} `invalid_plugin` when the schema itself does not compile
 */
export function configIssues(
  schema: JsonSchema | undefined,
  config: unknown,
): { path: string; message: string }[] {
  if (schema === undefined) return [];
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  let validate;
  try {
    validate = ajv.compile(schema);
  } catch (err) {
    throw new LoadIssue(
      "invalid_plugin",
      `the plugin's configSchema is not a valid JSON Schema: ${errorMessage(err)}`,
      "report this to the plugin's author",
    );
  }
  if (validate(config)) return [];
  return (validate.errors ?? []).map((e) => ({
    path: pointerToPath(e.instancePath),
    message: describe(e),
  }));
}
