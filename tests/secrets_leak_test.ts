/**
 * The secrets grep: a gateway run from the CLI with env-sourced secrets (the
 * master key, upstream keys, an `api_base` with user info and a `?key=`
 * query, a sink token) against an upstream that echoes its credentials in
 * error bodies and headers. Every response body and header, stderr, `--check`
 * output, the sink's deliveries and every file of the data dir are searched
 * for each secret value: none may appear.
 */
import assert from "node:assert/strict";
import { startUpstream } from "./fakes/upstream.ts";
import { startReceiver } from "./fakes/receiver.ts";
import { freePort, startCliGateway } from "./fakes/cli_gateway.ts";
import { until } from "./fakes/outage.ts";
import { createScrubber } from "../core/redaction/scrub.ts";
import { joinUrl, userinfoToAuth, withQueryParam } from "../core/providers/http.ts";
import { shownBase } from "../core/providers/router.ts";
import { anthropicUrl } from "../core/providers/anthropic.ts";

const MOD = new URL("../mod.ts", import.meta.url).pathname;

const SECRETS = {
  SLUICE_MASTER_KEY: "sk-master-Zq81vN3pLx0aTe5w",
  UPSTREAM_KEY: "sk-upstream-4Hf9s2LqP0wXyZ7e",
  AZURE_KEY: "a1b2c3d4e5f60718293a4b5c6d7e8f90",
  BASE_PASS: "pa55-Wd-91xqRt",
  QUERY_KEY: "qk-8812-HHe1Zp",
  SINK_TOKEN: "hook-token-5521-AbCd",
  HOOK_QUERY: "hq-0042-ZZtop9",
};

/** The secret values found in `text`, by variable name. */
function leaked(text: string): string[] {
  return Object.entries(SECRETS).filter(([, v]) => text.includes(v)).map(([k]) => k);
}

/** Every file under `dir`, recursively, as text. */
async function filesUnder(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) {
      for (const [p, t] of await filesUnder(path)) out.set(p, t);
    } else if (entry.isFile) {
      out.set(path, new TextDecoder().decode(await Deno.readFile(path)));
    }
  }
  return out;
}

/** An upstream whose errors echo the credentials and URL it was sent. */
function echoingUpstream() {
  return startUpstream((req) => {
    const creds = `authorization=${req.headers.authorization} api-key=${req.headers["api-key"]}`;
    const echo = { "x-upstream-echo": creds, "www-authenticate": `Bearer error="${creds}"` };
    const scenario = String((req.body?.messages as { content: string }[])[0].content);
    if (scenario === "401") {
      return Response.json({
        error: {
          message: `Incorrect API key provided: ${creds}. url=${req.path}`,
          type: "invalid_request_error",
          code: "invalid_api_key",
          param: null,
        },
      }, { status: 401, headers: echo });
    }
    if (scenario === "400") {
      return Response.json({
        error: {
          message: `Bad request; we saw api-key: ${req.headers["api-key"]} and ${creds}`,
          type: "invalid_request_error",
          code: "bad",
          param: null,
          received: { headers: req.headers, url: req.path },
        },
      }, { status: 400, headers: echo });
    }
    if (scenario === "500") {
      return new Response(`upstream exploded while checking ${creds} for ${req.path}`, {
        status: 500,
        headers: echo,
      });
    }
    return Response.json({
      id: "chatcmpl-ok",
      object: "chat.completion",
      created: 1,
      model: req.body?.model,
      choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    });
  });
}

function gatewayYaml(dir: string, upstreamPort: number, deadPort: number, hookUrl: string) {
  const up = `127.0.0.1:${upstreamPort}`;
  const userinfo = (host: string) => `"http://gw-user:\${BASE_PASS}@${host}/v1?key=\${QUERY_KEY}"`;
  return `
server:
  master_key: os.environ/SLUICE_MASTER_KEY
  data_dir: ${dir}/data
  shutdown_timeout_ms: 3000
models:
  - { name: echo, provider: openai, api_base: "http://${up}/v1", api_key: os.environ/UPSTREAM_KEY, max_retries: 1 }
  - { name: azure-echo, provider: azure, api_base: "http://${up}", api_key: os.environ/AZURE_KEY, max_retries: 0 }
  - { name: userinfo, provider: openai, api_base: ${userinfo(up)}, max_retries: 0 }
  - { name: dead, provider: openai, api_base: ${
    userinfo(`127.0.0.1:${deadPort}`)
  }, api_key: os.environ/UPSTREAM_KEY, max_retries: 0 }
sinks:
  - { use: jsonl, queue: { flush_interval_ms: 50 } }
  - use: webhook
    queue: { flush_interval_ms: 50 }
    config:
      url: "${hookUrl}?token=\${HOOK_QUERY}"
      headers: { authorization: "Bearer \${SINK_TOKEN}" }
`;
}

Deno.test("secrets grep: no configured secret reaches a client, stderr, a sink or the data dir", async () => {
  const dir = await Deno.makeTempDir();
  const upstream = echoingUpstream();
  const receiver = startReceiver("ok");
  const deadPort = freePort();
  await Deno.writeTextFile(
    `${dir}/gateway.yaml`,
    gatewayYaml(dir, upstream.port, deadPort, receiver.url),
  );
  const gw = await startCliGateway(`${dir}/gateway.yaml`, { env: SECRETS });
  const seen: string[] = [];
  const call = async (model: string, scenario: string) => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${SECRETS.SLUICE_MASTER_KEY}`,
      },
      body: JSON.stringify({
        model,
        messages: [{ role: "user", content: scenario }],
        metadata: { log_raw_request: true },
      }),
    });
    const text = await res.text();
    seen.push(`${model}/${scenario} ${res.status} ${JSON.stringify([...res.headers])} ${text}`);
    return { status: res.status, headers: res.headers, text };
  };
  try {
    assert.equal((await call("echo", "401")).status, 401);
    assert.equal((await call("echo", "400")).status, 400);
    assert.equal((await call("echo", "500")).status, 502);
    assert.equal((await call("azure-echo", "400")).status, 400);
    assert.equal((await call("azure-echo", "401")).status, 401);
    assert.equal((await call("userinfo", "401")).status, 401);
    const ok = await call("userinfo", "200");
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get("x-sluice-api-base"), `http://127.0.0.1:${upstream.port}/v1`);
    const dead = await call("dead", "200");
    assert.equal(dead.status, 502);
    assert.match(dead.text, /cannot reach upstream http:\/\/127\.0\.0\.1:\d+\/v1/);

    // The real request keeps the query as a query and the user info as Basic auth.
    const sent = upstream.requests.find((r) =>
      (r.body?.messages as { content: string }[])[0].content === "200"
    )!;
    assert.equal(sent.path, `/v1/chat/completions?key=${SECRETS.QUERY_KEY}`);
    assert.equal(
      sent.headers.authorization,
      `Basic ${btoa(`gw-user:${SECRETS.BASE_PASS}`)}`,
    );
    const echoed = upstream.requests.find((r) => r.headers["api-key"])!;
    assert.equal(echoed.headers["api-key"], SECRETS.AZURE_KEY, "the upstream did get the key");

    await until(() => receiver.events.length >= 8, 10_000, "the webhook deliveries");
  } finally {
    const code = await gw.terminate();
    await upstream.close();
    await receiver.close();
    try {
      assert.equal(code, 0);
      for (const line of seen) assert.deepEqual(leaked(line), [], line);
      assert.match(seen.join("\n"), /\[SECRET\]/, "echoed credentials are replaced");
      assert.deepEqual(leaked(gw.stderr()), [], gw.stderr());
      const delivered = JSON.stringify(receiver.events);
      assert.deepEqual(leaked(delivered), [], "webhook deliveries");
      const files = await filesUnder(`${dir}/data`);
      assert.ok(files.size > 0, "the data dir has files");
      for (const [path, text] of files) assert.deepEqual(leaked(text), [], path);
      const events = [...files].filter(([p]) => p.endsWith(".jsonl")).map(([, t]) => t).join("");
      assert.match(events, /"api_base":"http:\/\/127\.0\.0\.1:\d+\/v1"/);
      // (the default redaction masks the address in logged content)
      assert.match(events, /"url":"http:\/\/(127\.0\.0\.1|\[IPV4\]):\d+\/v1\/chat\/completions"/);
      assert.doesNotMatch(events, /\[SECRET\]\]/, "a value already scrubbed is not scrubbed again");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }
});

/** Runs the CLI with the secrets in its environment. */
async function runCli(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MOD, ...args],
    env: SECRETS,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, output: decode(out.stdout) + decode(out.stderr) };
}

Deno.test("--check and startup errors name where a value came from, never the value", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/bad.yaml`,
      `
server: { port: os.environ/SLUICE_MASTER_KEY, host: "\${UPSTREAM_KEY}" , shutdown_timeout_ms: "x\${AZURE_KEY}" }
models:
  - { name: m, provider: openai, api_key: os.environ/UPSTREAM_KEY, timeout_s: os.environ/BASE_PASS }
  - { name: n, provider: "os.environ/QUERY_KEY" }
`,
    );
    for (
      const args of [["--check", "--config", `${dir}/bad.yaml`], ["--config", `${dir}/bad.yaml`]]
    ) {
      const { code, output } = await runCli(args);
      assert.equal(code, 1, output);
      assert.deepEqual(leaked(output), [], output);
      assert.match(
        output,
        /server\.port \(line 2\): expected number, got a string from os\.environ\/SLUICE_MASTER_KEY/,
      );
      assert.match(output, /models\[0\]\.timeout_s .*os\.environ\/BASE_PASS/);
      assert.match(output, /server\.shutdown_timeout_ms .*from "x\$\{AZURE_KEY\}"/);
      assert.match(output, /models\[1\]\.provider .*os\.environ\/QUERY_KEY/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a failing optional plugin's error is masked with every secret of the config", async () => {
  const dir = await Deno.makeTempDir();
  const receiver = startReceiver("ok");
  try {
    // A plugin whose import fails with a message that spills the process environment.
    await Deno.writeTextFile(
      `${dir}/spill.ts`,
      `throw new Error("cannot start: " + JSON.stringify(Deno.env.toObject()));\n`,
    );
    await Deno.writeTextFile(
      `${dir}/gateway.yaml`,
      `
server: { master_key: os.environ/SLUICE_MASTER_KEY, data_dir: ${dir}/data }
models:
  - { name: m, provider: openai, api_base: "http://gw-user:\${BASE_PASS}@127.0.0.1:9/v1?key=\${QUERY_KEY}", api_key: os.environ/UPSTREAM_KEY }
  - { name: a, provider: azure, api_base: "http://127.0.0.1:9", api_key: os.environ/AZURE_KEY }
sinks:
  - { use: ./spill.ts, optional: true, sandbox: false }
  - use: webhook
    config: { url: "${receiver.url}?token=\${HOOK_QUERY}", headers: { authorization: "Bearer \${SINK_TOKEN}" } }
`,
    );
    const gw = await startCliGateway(`${dir}/gateway.yaml`, { env: SECRETS });
    await gw.terminate();
    assert.match(gw.stderr(), /spill/);
    assert.match(gw.stderr(), /\[SECRET\]/);
    assert.deepEqual(leaked(gw.stderr()), [], gw.stderr());

    // The same plugin as a required entry: the gateway refuses to start, masked too.
    const required = (await Deno.readTextFile(`${dir}/gateway.yaml`)).replace(
      "optional: true",
      "optional: false",
    );
    await Deno.writeTextFile(`${dir}/gateway.yaml`, required);
    const { code, output } = await runCli(["--config", `${dir}/gateway.yaml`]);
    assert.equal(code, 1, output);
    assert.match(output, /cannot start/);
    assert.deepEqual(leaked(output), [], output);

    // Sandboxed (the default), the plugin cannot read the environment at all.
    await Deno.writeTextFile(
      `${dir}/gateway.yaml`,
      required.replace("optional: false, sandbox: false", "optional: false"),
    );
    const sandboxed = await runCli(["--config", `${dir}/gateway.yaml`]);
    assert.equal(sandboxed.code, 1, sandboxed.output);
    assert.match(sandboxed.output, /sink "spill".*Requires env access/);
    assert.deepEqual(leaked(sandboxed.output), [], sandboxed.output);
  } finally {
    await receiver.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the scrubber: config values, credential patterns and URL extras become [SECRET]", () => {
  const scrub = createScrubber([SECRETS.AZURE_KEY, "short"]);
  assert.equal(
    scrub.text(`key ${SECRETS.AZURE_KEY} and short`),
    "key [SECRET] and short",
    "configured values (values under 6 characters are never secrets)",
  );
  assert.equal(
    scrub.text("Incorrect key: Bearer sk-unknown-5f3c9a81b2d4e6f7a8b9 given"),
    "Incorrect key: Bearer [SECRET] given",
  );
  assert.equal(scrub.text("bad api-key: 0f0e0d0c0b0a99887766"), "bad api-key: [SECRET]");
  assert.equal(scrub.text('{"x-api-key":"abcdef123456"}'), '{"x-api-key":"[SECRET]"}');
  assert.equal(
    scrub.text("failed for url (http://u:pw@h.example:81/v1/chat?key=AIzaXYZ&x=1): refused"),
    "failed for url (http://h.example:81/v1/chat): refused",
  );
  assert.equal(scrub.text("max_tokens: 4096, model: gpt-4o"), "max_tokens: 4096, model: gpt-4o");
  assert.deepEqual(
    scrub.value({
      error: {
        message: `saw ${SECRETS.AZURE_KEY}`,
        headers: { Authorization: "Basic eHh4Onl5eQ==" },
      },
      n: 3,
    }),
    { error: { message: "saw [SECRET]", headers: { Authorization: "[SECRET]" } }, n: 3 },
  );
  assert.deepEqual(scrub.headers({ "retry-after": "3", "x-e": "Bearer abcdefgh12345" }), {
    "retry-after": "3",
    "x-e": "Bearer [SECRET]",
  });
});

Deno.test("api_base URLs: the query stays a query, user info becomes Basic auth, shown without either", () => {
  assert.equal(
    joinUrl("http://h/v1?key=k", "chat/completions"),
    "http://h/v1/chat/completions?key=k",
  );
  assert.equal(joinUrl("http://h/v1/", "/embeddings"), "http://h/v1/embeddings");
  assert.equal(
    withQueryParam(joinUrl("http://h/?key=k", "openai/x"), "api-version", "2024-10-21"),
    "http://h/openai/x?key=k&api-version=2024-10-21",
  );
  assert.deepEqual(userinfoToAuth("http://us%40er:p%3Ass@h:81/v1", {}), {
    url: "http://h:81/v1",
    headers: { authorization: `Basic ${btoa("us@er:p:ss")}` },
  });
  assert.deepEqual(
    userinfoToAuth("http://u:p@h/v1", { "x-api-key": "k" }),
    { url: "http://h/v1", headers: { "x-api-key": "k" } },
    "an auth header already set wins",
  );
  assert.equal(shownBase("http://u:p@h.example:81/v1?key=k"), "http://h.example:81/v1");
  assert.equal(shownBase("https://api.anthropic.com"), "https://api.anthropic.com");
  assert.equal(shownBase("https://h.example?key=k"), "https://h.example");
  assert.equal(anthropicUrl("http://h/v1?key=k"), "http://h/v1/messages?key=k");
});
