/**
 * Schema checks for the otel tests: the OTLP/HTTP JSON export schema, the
 * GenAI message schemas and the `gen_ai.*` attribute registry, all copied
 * into `tests/fixtures/schemas/` (see the SOURCE.md files there). Not part
 * of the package.
 * @module
 */
import assert from "node:assert/strict";
import { Ajv2020 } from "npm:ajv@8.17.1/dist/2020.js";
import draft07 from "npm:ajv@8.17.1/dist/refs/json-schema-draft-07.json" with { type: "json" };
import type { AnyValue } from "./otlp_receiver.ts";

const FIXTURES = new URL("../../../tests/fixtures/schemas/", import.meta.url);

const readJson = (path: string): Record<string, unknown> =>
  JSON.parse(Deno.readTextFileSync(new URL(path, FIXTURES)));

const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addMetaSchema(draft07);
ajv.addFormat("binary", true); // the GenAI blob part's `content`: base64 text, not checked

type Validate = ReturnType<typeof ajv.compile>;

function compile(path: string): Validate {
  return ajv.compile(readJson(path));
}

const validators = {
  otlp: compile("otlp-trace-export.schema.json"),
  input: compile("otel-genai/gen-ai-input-messages.json"),
  output: compile("otel-genai/gen-ai-output-messages.json"),
  system: compile("otel-genai/gen-ai-system-instructions.json"),
  tools: compile("otel-genai/gen-ai-tool-definitions.json"),
};

function check(validate: Validate, value: unknown, what: string): void {
  if (validate(value)) return;
  throw new assert.AssertionError({
    message: `${what} does not match its schema: ${ajv.errorsText(validate.errors)}\n${
      JSON.stringify(value).slice(0, 2000)
    }`,
  });
}

/** Asserts that an OTLP/HTTP JSON body matches `otlp-trace-export.schema.json`. */
export function assertOtlpJson(body: unknown): void {
  check(validators.otlp, body, "the OTLP/JSON export body");
}

const MESSAGE_SCHEMAS: Record<string, Validate> = {
  "gen_ai.input.messages": validators.input,
  "gen_ai.output.messages": validators.output,
  "gen_ai.system_instructions": validators.system,
  "gen_ai.tool.definitions": validators.tools,
};

/** Asserts that a JSON-string attribute (`gen_ai.input.messages`, …) matches its GenAI schema; returns the parsed value. */
export function assertGenAiJson(key: string, value: unknown): unknown {
  assert.equal(typeof value, "string", `${key} is a JSON string`);
  const parsed = JSON.parse(value as string);
  const validate = MESSAGE_SCHEMAS[key];
  assert.ok(validate, `no schema for ${key}`);
  check(validate, parsed, key);
  return parsed;
}

interface RegistryEntry {
  name: string;
  type: string;
  deprecated?: unknown;
}

const registry = new Map<string, RegistryEntry>(
  (readJson("otel-genai/gen-ai-attributes.v1.41.0.json").attributes as RegistryEntry[])
    .map((a) => [a.name, a]),
);

/** The registry's type of a `gen_ai.*` attribute (`string`, `int`, `double`, `string[]`, `boolean`, `any`, …). */
export function registryType(key: string): string | undefined {
  return registry.get(key)?.type;
}

/**
 * Asserts every `gen_ai.*` attribute of a received span is in the v1.41.0
 * registry, not deprecated, and encoded with the OTLP value type its
 * registry type asks for (`int` as `intValue`, `double` as `doubleValue`
 * unless the number is whole, `string[]` as an array of strings, `any` as
 * JSON validated against its GenAI schema). Returns the keys checked.
 */
export function assertGenAiAttributeTypes(attributes: Record<string, AnyValue>): string[] {
  const checked: string[] = [];
  for (const [key, value] of Object.entries(attributes)) {
    if (!key.startsWith("gen_ai.")) continue;
    const entry = registry.get(key);
    assert.ok(entry, `${key} is not in the GenAI registry v1.41.0`);
    assert.equal(entry.deprecated, undefined, `${key} is deprecated`);
    const type = entry.type.startsWith("string") && !entry.type.startsWith("string[]")
      ? "string"
      : entry.type;
    switch (type) {
      case "string":
        assert.equal(typeof value.stringValue, "string", `${key} is a stringValue`);
        break;
      case "int":
        assert.match(
          String(value.intValue),
          /^-?\d+$/,
          `${key} is an intValue: ${JSON.stringify(value)}`,
        );
        break;
      case "double":
        // The OTel JS SDK encodes whole numbers as intValue; anything else must be a double.
        assert.ok(
          typeof value.doubleValue === "number" || value.intValue !== undefined,
          `${key} is numeric: ${JSON.stringify(value)}`,
        );
        break;
      case "boolean":
        assert.equal(typeof value.boolValue, "boolean", `${key} is a boolValue`);
        break;
      case "string[]":
        assert.ok(
          value.arrayValue?.values?.every((v) => typeof v.stringValue === "string"),
          `${key} is an array of strings: ${JSON.stringify(value)}`,
        );
        break;
      case "any":
        assertGenAiJson(key, value.stringValue);
        break;
      default:
        throw new Error(`${key}: unexpected registry type ${entry.type}`);
    }
    checked.push(key);
  }
  return checked;
}

/** Like {@link assertGenAiAttributeTypes}, for attributes as JS values (before encoding). */
export function assertGenAiJsTypes(attributes: Record<string, unknown>): string[] {
  const checked: string[] = [];
  for (const [key, value] of Object.entries(attributes)) {
    if (!key.startsWith("gen_ai.")) continue;
    const entry = registry.get(key);
    assert.ok(entry, `${key} is not in the GenAI registry v1.41.0`);
    assert.equal(entry.deprecated, undefined, `${key} is deprecated`);
    if (entry.type.startsWith("string[]")) {
      assert.ok(Array.isArray(value) && value.every((v) => typeof v === "string"), key);
    } else if (entry.type.startsWith("string")) assert.equal(typeof value, "string", key);
    else if (entry.type === "int") assert.ok(Number.isInteger(value), `${key} is an int: ${value}`);
    else if (entry.type === "double") assert.equal(typeof value, "number", key);
    else if (entry.type === "boolean") assert.equal(typeof value, "boolean", key);
    else if (entry.type === "any") assertGenAiJson(key, value);
    else throw new Error(`${key}: unexpected registry type ${entry.type}`);
    checked.push(key);
  }
  return checked;
}
