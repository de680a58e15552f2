/**
 * A minimal, deterministic instance of a JSON Schema: what the mock upstream
 * puts in a tool call's arguments and in a `json_schema` answer.
 *
 * Supported: `type` (one or a list: the first listed wins), `const`, `enum`
 * (the first value), `$ref` to the same document (`#`, `#/$defs/…`,
 * `#/definitions/…`, any local JSON pointer), `anyOf` and `oneOf` (the first
 * branch), `allOf` (its members merged shallowly: properties and required
 * lists joined, other keywords from the last member), objects (required
 * properties only, plus optional ones up to `minProperties`), arrays
 * (`prefixItems`, `items`, `minItems`), strings (`minLength`, `maxLength`,
 * common `format`s), numbers and integers (`minimum`, `maximum`, their
 * exclusive forms, `multipleOf`), booleans and null.
 *
 * Not supported (the instance may then not validate): `pattern`,
 * `patternProperties`, `propertyNames`, `uniqueItems` with more than one
 * item, `contains`, `not`, `if`/`then`/`else`, `dependentRequired`,
 * `dependentSchemas`, `$dynamicRef`, and `$ref` to other documents. A
 * schema that accepts nothing (`false`) and recursion deeper than
 * {@linkcode MAX_INSTANCE_DEPTH} yield `null`.
 * @module
 */

type Schema = Record<string, unknown>;

/** How deep the generator follows nested schemas and `$ref`s before giving up with `null`. */
export const MAX_INSTANCE_DEPTH = 32;

/** Example strings for the `format`s the generator knows. */
const FORMATS: Readonly<Record<string, string>> = {
  "date-time": "1970-01-01T00:00:00Z",
  date: "1970-01-01",
  time: "00:00:00Z",
  duration: "P1D",
  email: "mock@example.com",
  "idn-email": "mock@example.com",
  hostname: "example.com",
  "idn-hostname": "example.com",
  ipv4: "127.0.0.1",
  ipv6: "::1",
  uri: "https://example.com/",
  "uri-reference": "https://example.com/",
  iri: "https://example.com/",
  "iri-reference": "https://example.com/",
  url: "https://example.com/",
  uuid: "00000000-0000-4000-8000-000000000000",
  "json-pointer": "",
  regex: ".*",
};

const isSchema = (value: unknown): value is Schema =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * A minimal value valid against `schema` (see the module doc for what is
 * honoured). Deterministic: the same schema gives the same value.
 *
 * @param schema A JSON Schema (an object or a boolean).
 * @returns A JSON value.
 *
 * @example
 * ```ts
 * import { instanceOf } from "./mock_instance.ts";
 * const args = instanceOf({
 *   type: "object",
 *   properties: { city: { type: "string" }, unit: { enum: ["c", "f"] } },
 *   required: ["city", "unit"],
 * });
 * // args is { city: "mock", unit: "c" }
 * ```
 */
export function instanceOf(schema: unknown): unknown {
  return generate(schema, schema, 0);
}

function generate(schema: unknown, root: unknown, depth: number): unknown {
  if (!isSchema(schema) || depth > MAX_INSTANCE_DEPTH) return null;
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  if (typeof schema.$ref === "string") {
    return generate(resolveRef(schema.$ref, root), root, depth + 1);
  }
  const branches = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(branches) && branches.length) {
    return generate(withoutKeys(schema, ["anyOf", "oneOf"], branches[0]), root, depth + 1);
  }
  if (Array.isArray(schema.allOf) && schema.allOf.length) {
    return generate(mergeAll(schema), root, depth + 1);
  }
  switch (typeOf(schema)) {
    case "object":
      return objectOf(schema, root, depth);
    case "array":
      return arrayOf(schema, root, depth);
    case "string":
      return stringOf(schema);
    case "integer":
      return numberOf(schema, true);
    case "number":
      return numberOf(schema, false);
    case "boolean":
      return false;
    default:
      return null;
  }
}

/** The schema `ref` points to inside `root` (a local JSON pointer), or undefined. */
function resolveRef(ref: string, root: unknown): unknown {
  if (!ref.startsWith("#")) return undefined;
  const pointer = decodeURIComponent(ref.slice(1));
  if (pointer === "") return root;
  if (!pointer.startsWith("/")) return undefined;
  let node: unknown = root;
  for (const raw of pointer.slice(1).split("/")) {
    if (!isSchema(node) && !Array.isArray(node)) return undefined;
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** `schema` without `keys`, combined with `branch` (a branch's own keywords win). */
function withoutKeys(schema: Schema, keys: string[], branch: unknown): Schema {
  const rest: Schema = { ...schema };
  for (const key of keys) delete rest[key];
  if (!isSchema(branch)) return rest;
  // Keep the outer keywords (e.g. `type: "object"`) and let the branch refine them.
  return mergeTwo(rest, branch);
}

/** The `allOf` members and the rest of `schema` merged into one schema. */
function mergeAll(schema: Schema): Schema {
  const { allOf, ...rest } = schema;
  return (allOf as unknown[]).filter(isSchema).reduce<Schema>(mergeTwo, rest);
}

/** Two schemas merged shallowly: properties and required lists joined, other keywords from `b`. */
function mergeTwo(a: Schema, b: Schema): Schema {
  const merged: Schema = { ...a, ...b };
  if (isSchema(a.properties) || isSchema(b.properties)) {
    merged.properties = { ...(a.properties as Schema), ...(b.properties as Schema) };
  }
  if (Array.isArray(a.required) || Array.isArray(b.required)) {
    merged.required = [
      ...new Set([...(a.required as string[] ?? []), ...(b.required as string[] ?? [])]),
    ];
  }
  return merged;
}

/** The instance type a schema asks for: its first listed `type`, else one its keywords imply. */
function typeOf(schema: Schema): string | undefined {
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (typeof type === "string") return type;
  if ("properties" in schema || "required" in schema || "additionalProperties" in schema) {
    return "object";
  }
  if ("items" in schema || "prefixItems" in schema || "minItems" in schema) return "array";
  if ("minLength" in schema || "maxLength" in schema || "format" in schema) return "string";
  if ("minimum" in schema || "maximum" in schema || "multipleOf" in schema) return "number";
  return undefined;
}

function objectOf(schema: Schema, root: unknown, depth: number): Record<string, unknown> {
  const properties = isSchema(schema.properties) ? schema.properties : {};
  const names = Array.isArray(schema.required)
    ? schema.required.filter((n): n is string => typeof n === "string")
    : [];
  const min = typeof schema.minProperties === "number" ? schema.minProperties : 0;
  for (const name of Object.keys(properties)) {
    if (names.length >= min) break;
    if (!names.includes(name)) names.push(name);
  }
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const sub = name in properties ? properties[name] : schema.additionalProperties;
    out[name] = generate(sub === true || sub === undefined ? {} : sub, root, depth + 1);
  }
  return out;
}

function arrayOf(schema: Schema, root: unknown, depth: number): unknown[] {
  const prefix = Array.isArray(schema.prefixItems)
    ? schema.prefixItems
    : Array.isArray(schema.items) // draft 4–7 tuple form
    ? schema.items
    : [];
  const rest = Array.isArray(schema.items) ? schema.additionalItems : schema.items;
  const min = typeof schema.minItems === "number" ? schema.minItems : 0;
  const out: unknown[] = [];
  for (let i = 0; i < min; i++) {
    out.push(generate(i < prefix.length ? prefix[i] : rest ?? {}, root, depth + 1));
  }
  return out;
}

function stringOf(schema: Schema): string {
  const format = typeof schema.format === "string" ? FORMATS[schema.format] : undefined;
  let text = format ?? "mock";
  const min = typeof schema.minLength === "number" ? schema.minLength : 0;
  const max = typeof schema.maxLength === "number" ? schema.maxLength : Infinity;
  // Lengths count code points, as JSON Schema does; every character here is ASCII.
  while (text.length < min) text += "x";
  return text.length > max ? text.slice(0, max) : text;
}

/** The value closest to 0 within the bounds, a multiple of `multipleOf` when one is given. */
function numberOf(schema: Schema, integer: boolean): number {
  const step = typeof schema.multipleOf === "number" && schema.multipleOf > 0
    ? schema.multipleOf
    : integer
    ? 1
    : undefined;
  const low = bound(schema, "minimum", "exclusiveMinimum");
  const high = bound(schema, "maximum", "exclusiveMaximum");
  const aboveLow = (v: number) => !low || (low.exclusive ? v > low.value : v >= low.value);
  const belowHigh = (v: number) => !high || (high.exclusive ? v < high.value : v <= high.value);
  if (aboveLow(0) && belowHigh(0)) return 0;
  // 0 is out of range on one side: start at that bound and step inwards.
  const up = !aboveLow(0);
  const edge = (up ? low : high)!.value;
  const fits = (v: number) => aboveLow(v) && belowHigh(v);
  if (step === undefined) {
    const v = up ? edge + 1 : edge - 1;
    if (fits(edge)) return edge;
    return fits(v) ? v : (low!.value + high!.value) / 2; // a narrow range: its middle
  }
  // The first few multiples inward whose quotient is whole in floating point (0.3 / 0.1 is not).
  const first = (up ? Math.ceil : Math.floor)(edge / step);
  for (let k = 0; k < 16; k++) {
    const v = Number(((first + (up ? k : -k)) * step).toPrecision(15));
    if (fits(v) && Number.isInteger(v / step)) return v;
  }
  return low && high ? (low.value + high.value) / 2 : edge; // no multiple found: not supported
}

/** A numeric bound, draft 6+ (`exclusiveMinimum: 3`) or draft 4 (`minimum: 3, exclusiveMinimum: true`). */
function bound(
  schema: Schema,
  inclusive: string,
  exclusive: string,
): { value: number; exclusive: boolean } | undefined {
  const ex = schema[exclusive];
  const inc = schema[inclusive];
  if (typeof ex === "number") {
    // Both given: the tighter one holds; equal values make the exclusive one tighter.
    if (typeof inc === "number") {
      const tighter = inclusive === "minimum" ? inc > ex : inc < ex;
      if (tighter) return { value: inc, exclusive: false };
    }
    return { value: ex, exclusive: true };
  }
  if (typeof inc === "number") return { value: inc, exclusive: ex === true };
  return undefined;
}
