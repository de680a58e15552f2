/**
 * A plugin's config from one zod schema (`@sluice/core/plugin-config`).
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { definePluginConfig, type SameShape } from "./plugin_config.ts";

const sampleZod = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: "must be an absolute http:// or https:// URL" })
    .describe("Where batches go."),
  mode: z.enum(["a", "b"], { error: 'must be "a" or "b"' }).default("a"),
  tags: z.record(z.string(), z.string()).optional(),
  names: z.array(z.string()).optional(),
});

interface SampleConfig {
  url: string;
  mode?: "a" | "b";
  tags?: Record<string, string>;
  names?: string[];
}

true satisfies SameShape<z.input<typeof sampleZod>, SampleConfig>;
// @ts-expect-error: an optional field the schema lacks is assignable both ways, the key sets differ
true satisfies SameShape<z.input<typeof sampleZod>, SampleConfig & { extra?: string }>;
// @ts-expect-error: a field typed differently
true satisfies SameShape<z.input<typeof sampleZod>, Omit<SampleConfig, "mode"> & { mode?: string }>;

const sample = definePluginConfig("sample", sampleZod);
const URL_MESSAGE = "must be an absolute http:// or https:// URL";

function problems(input: unknown): string {
  try {
    sample.parse(input);
  } catch (error) {
    assert.ok(error instanceof Error);
    return error.message;
  }
  throw new Error("parsed");
}

Deno.test("the JSON Schema is the schema's input, draft-07", () => {
  assert.deepEqual(
    sample.jsonSchema,
    z.toJSONSchema(sampleZod, { io: "input", target: "draft-7" }),
  );
  assert.equal(sample.jsonSchema.$schema, "http://json-schema.org/draft-07/schema#");
  assert.deepEqual(sample.jsonSchema.required, ["url"]);
  assert.equal(
    (sample.jsonSchema.properties as Record<string, { description?: string }>).url.description,
    "Where batches go.",
  );
});

Deno.test("parse fills in defaults; no config is an empty one", () => {
  const config: SampleConfig & { mode: "a" | "b" } = sample.parse({ url: "https://h/x" });
  assert.deepEqual(config, { url: "https://h/x", mode: "a" });
  assert.equal(problems(undefined), "sample: invalid config: config.url: " + URL_MESSAGE);
  assert.equal(problems(null), "sample: invalid config: config.url: " + URL_MESSAGE);
});

Deno.test("every problem is named at its path, in one message", () => {
  assert.equal(
    problems({
      url: "ftp://h",
      mode: "c",
      tags: { ok: 1, "bad key": 2 },
      names: ["x", 3],
      extra: 1,
    }),
    "sample: invalid config: " + [
      `config.url: ${URL_MESSAGE}`,
      'config.mode: must be "a" or "b"',
      "config.tags.ok: Invalid input: expected string, received number",
      'config.tags["bad key"]: Invalid input: expected string, received number',
      "config.names[1]: Invalid input: expected string, received number",
      'config: Unrecognized key: "extra"',
    ].join("; "),
  );
  assert.equal(
    problems("text"),
    "sample: invalid config: config: Invalid input: expected object, received string",
  );
});

Deno.test("a problem never shows the value", () => {
  const secret = "s3cr3t-value-1234";
  const message = problems({ url: secret, tags: { authorization: 42 }, mode: secret });
  assert.ok(!message.includes(secret), message);
  const custom = definePluginConfig(
    "custom",
    z.strictObject({ token: z.string().refine(() => false, { message: "rejected" }) }),
  );
  assert.throws(() => custom.parse({ token: secret }), (error: Error) => {
    assert.equal(error.message, "custom: invalid config: config.token: rejected");
    return true;
  });
});
