/**
 * The CLI as a user runs it: --version, --print-schema, --check exit codes,
 * and the embedded default answering with no config, then a clean SIGTERM.
 */
import assert from "node:assert/strict";
import OpenAI from "openai";
import { fileURLToPath } from "node:url";

const MOD = new URL("../mod.ts", import.meta.url).pathname;

async function run(args: string[], cwd?: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MOD, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("--version, --help and --print-schema", async () => {
  const version = await run(["--version"]);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^sluice \d+\.\d+\.\d+/);
  const help = await run(["--help"]);
  assert.match(help.stdout, /--config FILE/);
  const schema = await run(["--print-schema"]);
  assert.equal(schema.code, 0);
  assert.ok("models" in JSON.parse(schema.stdout).properties);
  const bad = await run(["--nope"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Unknown option '--nope'/);
});

Deno.test("--check: exit 0 when valid or only warnings, 1 on errors, listing every problem", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/ok.yaml`, "models:\n  - { name: m, provider: mock }\n");
    await Deno.writeTextFile(`${dir}/warn.yaml`, "models: []\n");
    await Deno.writeTextFile(
      `${dir}/bad.yaml`,
      "server: { prot: 1 }\nmodels:\n  - { name: m, provider: nope }\n",
    );
    const ok = await run(["--check", "--config", `${dir}/ok.yaml`]);
    assert.equal(ok.code, 0);
    assert.match(ok.stdout, /0 error\(s\), 0 warning\(s\)/);
    const warn = await run(["--check", "--config", `${dir}/warn.yaml`]);
    assert.equal(warn.code, 0);
    assert.match(warn.stdout, /warning: models \(line 1\): no models defined/);
    const bad = await run(["--check", "--config", `${dir}/bad.yaml`]);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stdout,
      /error: server\.prot \(line 1\): unknown key "prot"; did you mean "port"\?/,
    );
    assert.match(bad.stdout, /error: models\[0\]\.provider \(line 3\): expected one of/);
    assert.match(bad.stdout, /2 error\(s\)/);
    const start = await run(["--config", `${dir}/bad.yaml`]);
    assert.equal(start.code, 1, "the gateway refuses to start on a bad config");
    assert.match(start.stderr, /server\.prot/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const GREEDY = fileURLToPath(new URL("./fixtures/plugins/greedy.js", import.meta.url));

Deno.test("--check validates each sink's plugin config and permissions as startup does, without connecting anywhere", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/sinks.yaml`,
      [
        "models: [{ name: m, provider: mock }]",
        "sinks:",
        "  - { use: jsonl }",
        "  - { use: s3, config: { buckett: logs } }",
        "  - { use: otel, config: { protocol: thrift } }",
        "  - { use: ./missing-plugin.ts }",
        "  - { use: 'https://plugins.example/sink.js', sha256: " +
        `"${"0".repeat(64)}" }`,
        `  - { use: '${GREEDY}' }`,
        `  - { name: trusted, use: '${GREEDY}', permissions: { net: [collector.greedy.example], env: [OPENAI_API_KEY, SLUICE_MASTER_KEY] } }`,
      ].join("\n"),
    );
    const check = await run(["--check", "--config", `${dir}/sinks.yaml`]);
    assert.equal(check.code, 1, check.stdout + check.stderr);
    assert.match(check.stdout, /error: sinks\[1\]\.config: unknown key "buckett"/);
    assert.match(
      check.stdout,
      /error: sinks\[2\]\.config\.protocol: .*thrift|error: sinks\[2\]\.config\.protocol/,
    );
    assert.match(check.stdout, /error: sinks\[3\]\.use: .*missing-plugin\.ts/);
    assert.match(check.stdout, /warning: sinks\[4\]\.config: not checked: --check does not fetch/);
    assert.match(
      check.stdout,
      /error: sinks\[5\]\.permissions: the plugin asks for more than it is granted: asks net: collector\.greedy\.example; env: OPENAI_API_KEY, SLUICE_MASTER_KEY; granted \(default: the hosts in its config:\) net: none; env: none/,
    );
    assert.doesNotMatch(check.stdout, /sinks\[0\]/, "a valid sink has nothing to say");
    assert.doesNotMatch(
      check.stdout,
      /sinks\[6\]/,
      "a sink granted what it asks has nothing to say",
    );
    // What --check found is what startup refuses.
    await Deno.writeTextFile(
      `${dir}/s3.yaml`,
      "models: [{ name: m, provider: mock }]\nsinks: [{ use: s3, config: { buckett: logs } }]\n",
    );
    const start = await run(["--config", `${dir}/s3.yaml`, "--data-dir", `${dir}/data`]);
    assert.equal(start.code, 1);
    assert.match(start.stderr, /buckett/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the embedded default answers with no config, logs to console and JSONL, exits 0 on SIGTERM", async () => {
  const dir = await Deno.makeTempDir();
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MOD, "--port", String(port)],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdout = new Response(child.stdout).text();
  const stderr = new Response(child.stderr).text();
  try {
    let ready = false;
    for (let i = 0; i < 100 && !ready; i++) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health/readiness`);
        ready = res.ok;
        await res.body?.cancel();
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.ok(ready, "the gateway came up");
    const client = new OpenAI({
      apiKey: "none",
      baseURL: `http://127.0.0.1:${port}/v1`,
      maxRetries: 0,
    });
    const chat = await client.chat.completions.create({
      model: "mock-gpt",
      messages: [{ role: "user", content: "Hello" }],
    });
    assert.match(chat.choices[0].message.content!, /You said: "Hello"/);
    const stream = await client.chat.completions.create({
      model: "mock-gpt",
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
    });
    let text = "";
    for await (const c of stream) text += c.choices[0]?.delta?.content ?? "";
    assert.equal(text, chat.choices[0].message.content!.replace("Hello", "Hi"));
    const embed = await client.embeddings.create({ model: "mock-embed", input: "x" });
    assert.equal(embed.data[0].embedding.length, 64);
  } finally {
    child.kill("SIGTERM");
  }
  const status = await child.status;
  assert.equal(status.code, 0, await stderr);
  const out = await stdout;
  assert.equal(out.trim().split("\n").length, 3, "one console line per call:\n" + out);
  assert.match(out, /chat mock-gpt ok \d+\+\d+ tok [\d.]+ ms \$0\.\d{6} call=/);
  const logs = [...Deno.readDirSync(`${dir}/.sluice/logs`)].map((e) => e.name);
  assert.equal(logs.length, 1);
  assert.match(logs[0], /^events-\d{4}-\d{2}-\d{2}\.jsonl$/);
  const lines = Deno.readTextFileSync(`${dir}/.sluice/logs/${logs[0]}`).trim().split("\n");
  assert.equal(lines.length, 3);
  await Deno.remove(dir, { recursive: true });
});
