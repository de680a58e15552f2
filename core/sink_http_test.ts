/**
 * The sink plugins' HTTP helpers (`@sluice/core/sink-http`).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  basicAuth,
  classify,
  DEFAULT_RATE_LIMIT_WAIT_MS,
  displayUrl,
  errorDetail,
  failureError,
  fetchFailure,
  type HttpOutcome,
  isSecretName,
  parseRetryAfter,
  RecentIds,
  secretScrubber,
  sinkError,
} from "./sink_http.ts";

const identity = (text: string) => text;

Deno.test("sinkError: an Error with the contract's properties and the status", () => {
  const error = sinkError("receiver answered 422", { permanent: true, status: 422 });
  assert.ok(error instanceof Error);
  assert.equal(error.message, "receiver answered 422");
  assert.equal(error.permanent, true);
  assert.equal(error.status, 422);
  assert.equal(error.retryAfterMs, undefined);

  const limited = sinkError("rate limited", { retryAfterMs: 2000, status: 429 });
  assert.equal(limited.permanent, undefined);
  assert.equal(limited.retryAfterMs, 2000);

  const plain = sinkError("network down");
  assert.deepEqual(
    [plain.permanent, plain.retryAfterMs, plain.status],
    [undefined, undefined, undefined],
  );
});

Deno.test("displayUrl drops user info, query and fragment", () => {
  assert.equal(
    displayUrl("https://u:pw@h.example.com:8443/a/b?k=v#f"),
    "https://h.example.com:8443/a/b",
  );
  assert.equal(displayUrl(new URL("http://h.example.com/x?token=1")), "http://h.example.com/x");
  assert.equal(displayUrl("https://h.example.com:443/"), "https://h.example.com/");
  assert.equal(displayUrl("HTTP://H.EXAMPLE.COM/In"), "http://h.example.com/In");
  // Other schemes keep their name (a misconfigured endpoint is recognisable in the message).
  assert.equal(displayUrl("grpc://u:pw@collector:4317/v1?k=1"), "grpc://collector:4317/v1");
  assert.equal(displayUrl("not a url"), "<invalid url>");
  assert.equal(displayUrl(""), "<invalid url>");
});

Deno.test("parseRetryAfter reads delay-seconds and HTTP dates", () => {
  const now = Date.parse("Tue, 21 Oct 2025 07:28:00 GMT");
  assert.equal(parseRetryAfter("2", now), 2000);
  assert.equal(parseRetryAfter(" 120 ", now), 120_000);
  assert.equal(parseRetryAfter("1.5", now), 1500);
  assert.equal(parseRetryAfter("0", now), 0);
  assert.equal(parseRetryAfter("Tue, 21 Oct 2025 07:28:30 GMT", now), 30_000);
  assert.equal(parseRetryAfter("Tue, 21 Oct 2025 07:27:00 GMT", now), 0, "a past date is 0");
  assert.equal(parseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", now), 0, "RFC 850 date");
  assert.equal(parseRetryAfter("Thu, 01 Jan 1970 00:00:05 GMT", 1000), 4000);
});

Deno.test("parseRetryAfter: absent or unreadable is undefined", () => {
  const now = Date.parse("Tue, 21 Oct 2025 07:28:00 GMT");
  for (const value of [null, "", "   ", "-1", "+5", "1e3", "soon", "2025-10-21"]) {
    assert.equal(parseRetryAfter(value, now), undefined, JSON.stringify(value));
  }
  assert.equal(typeof parseRetryAfter("Tue, 21 Oct 2099 07:28:30 GMT"), "number", "now defaults");
});

Deno.test("fetchFailure: timeouts, shutdowns and network errors are retryable", () => {
  const request = "my-sink: POST https://h.example.com/in";

  const timeout = fetchFailure(
    new DOMException("Signal timed out.", "TimeoutError"),
    request,
    5000,
    identity,
  );
  assert.equal(timeout.message, `${request} timed out after 5000 ms`);
  assert.equal(timeout.permanent, undefined);
  assert.equal(timeout.retryAfterMs, undefined);

  const aborted = fetchFailure(new DOMException("aborted", "AbortError"), request, 5000, identity);
  assert.equal(aborted.message, `${request} aborted (shutting down)`);

  const secret = "https://h.example.com/in?key=s3cret";
  const network = new TypeError(`error sending request for url (${secret})`, {
    cause: new Error(`connection refused: ${secret}`),
  });
  const scrub = (text: string) => text.split(secret).join("https://h.example.com/in");
  const failed = fetchFailure(network, request, 5000, scrub);
  assert.equal(
    failed.message,
    `${request} failed: error sending request for url (https://h.example.com/in): ` +
      "connection refused: https://h.example.com/in",
  );
  assert.ok(!failed.message.includes("s3cret"));
  assert.equal(failed.permanent, undefined);

  assert.equal(fetchFailure("boom", request, 1, identity).message, `${request} failed: boom`);
});

Deno.test("errorDetail: the message of a JSON body, or the text, short and scrubbed", async () => {
  const detail = (body: BodyInit | null, scrub = identity) =>
    errorDetail(new Response(body, { status: 400 }), scrub);
  assert.equal(await detail(JSON.stringify({ message: "bad  request" })), "bad request");
  assert.equal(
    await detail(JSON.stringify({ error: { message: "no such project" } })),
    "no such project",
  );
  assert.equal(await detail(JSON.stringify({ error: "unauthorized" })), "unauthorized");
  assert.equal(
    await detail(JSON.stringify({ status: 1 })),
    '{"status":1}',
    "a JSON body without one",
  );
  assert.equal(await detail("plain\n\ttext "), "plain text");
  assert.equal(await detail(""), "");
  assert.equal(await detail(null), "");
  assert.equal(await detail("token=abc", (t) => t.replace("abc", "***")), "token=***");
  const long = await detail("x".repeat(500));
  assert.equal(long, `${"x".repeat(200)}…`);
});

Deno.test("basicAuth: Basic base64 of user:secret in UTF-8", () => {
  assert.equal(basicAuth("pk-lf-1", "sk-lf-2"), `Basic ${btoa("pk-lf-1:sk-lf-2")}`);
  const decoded = atob(basicAuth("ünïcode", "sëcret").slice("Basic ".length));
  const bytes = Uint8Array.from(decoded, (c) => c.charCodeAt(0));
  assert.equal(new TextDecoder().decode(bytes), "ünïcode:sëcret");
});

Deno.test("classify: one outcome per status class", () => {
  const at = (status: number, headers: Record<string, string> = {}, url = "") =>
    classify({ status, headers: new Headers(headers), url });
  for (const status of [200, 201, 202, 204, 207]) {
    assert.deepEqual(at(status), { kind: "ok", status });
  }
  for (const status of [400, 413, 422]) assert.deepEqual(at(status), { kind: "permanent", status });
  const keep: [number, string][] = [
    [401, "credentials"],
    [403, "credentials"],
    [407, "credentials"],
    [404, "url"],
    [405, "url"],
    [410, "url"],
    [415, "format"],
  ];
  for (const [status, reason] of keep) {
    assert.deepEqual(at(status), { kind: "keep", status, reason }, `${status}`);
  }
  for (const status of [408, 409, 500, 502, 503, 504, 599]) {
    assert.deepEqual(at(status), { kind: "retry", status }, `${status}`);
  }
});

Deno.test("classify: Retry-After on any retry, a default wait only for 429", () => {
  const now = Date.parse("Tue, 21 Oct 2025 07:28:00 GMT");
  const at = (status: number, headers: Record<string, string> = {}, rateLimitWaitMs?: number) =>
    classify({ status, headers: new Headers(headers) }, { now, rateLimitWaitMs });
  assert.deepEqual(at(429), { kind: "retry", status: 429, afterMs: DEFAULT_RATE_LIMIT_WAIT_MS });
  assert.deepEqual(at(429, {}, 60_000), { kind: "retry", status: 429, afterMs: 60_000 });
  assert.deepEqual(at(429, { "retry-after": "3" }, 60_000), {
    kind: "retry",
    status: 429,
    afterMs: 3000,
  });
  assert.deepEqual(at(503, { "retry-after": "Tue, 21 Oct 2025 07:28:10 GMT" }), {
    kind: "retry",
    status: 503,
    afterMs: 10_000,
  });
  assert.deepEqual(at(408, { "retry-after": "1" }), { kind: "retry", status: 408, afterMs: 1000 });
  assert.deepEqual(at(429, { "retry-after": "soon" }), {
    kind: "retry",
    status: 429,
    afterMs: DEFAULT_RATE_LIMIT_WAIT_MS,
  });
  // Retry-After does not turn a refusal or a configuration problem into a wait.
  assert.deepEqual(at(400, { "retry-after": "1" }), { kind: "permanent", status: 400 });
  assert.deepEqual(at(401, { "retry-after": "1" }), {
    kind: "keep",
    status: 401,
    reason: "credentials",
  });
  // A bare status (no headers) classifies too.
  assert.deepEqual(classify({ status: 502 }), { kind: "retry", status: 502 });
});

Deno.test("classify: a redirect is kept, its Location shown without query or user info", () => {
  const at = (headers: Record<string, string>, url = "") =>
    classify({ status: 302, headers: new Headers(headers), url });
  assert.deepEqual(at({ location: "https://u:pw@new.example.com/in?token=s3cret" }), {
    kind: "keep",
    status: 302,
    reason: "redirect",
    location: "https://new.example.com/in",
  });
  assert.deepEqual(at({ location: "/moved?k=1" }, "https://h.example.com/in?k=0"), {
    kind: "keep",
    status: 302,
    reason: "redirect",
    location: "https://h.example.com/moved",
  });
  assert.deepEqual(at({ location: "/relative" }), {
    kind: "keep",
    status: 302,
    reason: "redirect",
  }, "a relative Location without a request URL is not shown");
  assert.deepEqual(at({}), { kind: "keep", status: 302, reason: "redirect" });
});

Deno.test("classify works on real answers from a loopback server", async () => {
  let answer = () => new Response(null, { status: 204 });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => answer());
  const url = `http://127.0.0.1:${server.addr.port}/in?token=s3cret`;
  try {
    const post = async () => {
      const res = await fetch(url, { method: "POST", body: "[]", redirect: "manual" });
      await res.body?.cancel();
      return classify(res);
    };
    assert.deepEqual(await post(), { kind: "ok", status: 204 });
    answer = () => new Response("slow", { status: 429, headers: { "retry-after": "2" } });
    assert.deepEqual(await post(), { kind: "retry", status: 429, afterMs: 2000 });
    answer = () => new Response(null, { status: 301, headers: { location: "/v2/in?token=x" } });
    assert.deepEqual(await post(), {
      kind: "keep",
      status: 301,
      reason: "redirect",
      location: `http://127.0.0.1:${server.addr.port}/v2/in`,
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("failureError: the contract's properties and one message shape per outcome", () => {
  const answered = "my-sink: https://h.example.com/in answered";
  const cases: [HttpOutcome & { kind: Exclude<HttpOutcome["kind"], "ok"> }, string, object][] = [
    [
      { kind: "permanent", status: 422 },
      `${answered}: the receiver refused these events as malformed`,
      { permanent: true, status: 422, retryAfterMs: undefined },
    ],
    [
      { kind: "keep", status: 401, reason: "credentials" },
      `${answered}: check this sink's credentials; the events are kept and retried`,
      { permanent: undefined, status: 401, retryAfterMs: undefined },
    ],
    [
      { kind: "keep", status: 404, reason: "url" },
      `${answered}: check this sink's url; the events are kept and retried`,
      { permanent: undefined, status: 404 },
    ],
    [
      { kind: "keep", status: 415, reason: "format" },
      `${answered}: check this sink's protocol or format; the events are kept and retried`,
      { permanent: undefined, status: 415 },
    ],
    [
      { kind: "keep", status: 301, reason: "redirect", location: "https://n.example.com/in" },
      `${answered}: a redirect to https://n.example.com/in; redirects are not followed, ` +
      "set the final URL in this sink's config; the events are kept and retried",
      { permanent: undefined, status: 301 },
    ],
    [
      { kind: "retry", status: 429, afterMs: 1500 },
      `${answered}: rate limited; retry in 1500 ms`,
      { permanent: undefined, status: 429, retryAfterMs: 1500 },
    ],
    [
      { kind: "retry", status: 503, afterMs: 2000 },
      `${answered}; the batch will be retried`,
      { permanent: undefined, status: 503, retryAfterMs: 2000 },
    ],
    [
      { kind: "retry", status: 500 },
      `${answered}; the batch will be retried`,
      { permanent: undefined, status: 500, retryAfterMs: undefined },
    ],
  ];
  for (const [outcome, message, props] of cases) {
    const error = failureError(outcome, answered);
    assert.ok(error instanceof Error);
    assert.equal(error.message, message);
    for (const [key, value] of Object.entries(props)) {
      assert.equal(error[key as keyof typeof error], value, `${outcome.status} ${key}`);
    }
  }
  const words = {
    refused: "the collector refused these 3 spans",
    credentials: "check MY_TOKEN",
    url: "check MY_URL",
    redirect: "set MY_URL to it",
    format: "set protocol",
    retry: "the spans will be retried",
  };
  const say = (outcome: Parameters<typeof failureError>[0]) =>
    failureError(outcome, "x", words).message;
  assert.equal(say({ kind: "permanent", status: 400 }), "x: the collector refused these 3 spans");
  assert.match(say({ kind: "keep", status: 403, reason: "credentials" }), /^x: check MY_TOKEN;/);
  assert.match(say({ kind: "keep", status: 404, reason: "url" }), /^x: check MY_URL;/);
  assert.match(say({ kind: "keep", status: 415, reason: "format" }), /^x: set protocol;/);
  assert.match(
    failureError({ kind: "keep", status: 400, reason: "config" }, "x").message,
    /^x: check this sink's config; the events are kept and retried$/,
  );
  assert.match(say({ kind: "keep", status: 308, reason: "redirect" }), /not followed, set MY_URL/);
  assert.equal(say({ kind: "retry", status: 502 }), "x; the spans will be retried");
  const scrubbed = failureError(
    { kind: "keep", status: 401, reason: "credentials" },
    "x answered 401 (key sk-live-123456 refused)",
    {},
    secretScrubber(["sk-live-123456"]),
  );
  assert.equal(
    scrubbed.message,
    "x answered 401 (key [SECRET] refused): check this sink's credentials; the events are kept and retried",
  );
});

Deno.test("secretScrubber: secret values, their URL-encoded form and full URLs", () => {
  const scrub = secretScrubber(["p@ss word!1", undefined, "abc", "sk-live-123456"], {
    urls: ["https://u:pw@h.example.com/in?token=q-s3cret", new URL("https://o.example.com/x?k=1")],
  });
  assert.equal(
    scrub("login p@ss word!1 / p%40ss%20word!1 with sk-live-123456"),
    "login [SECRET] / [SECRET] with [SECRET]",
  );
  assert.equal(scrub("abc is too short to be a secret"), "abc is too short to be a secret");
  assert.equal(
    scrub("error sending request for url (https://u:pw@h.example.com/in?token=q-s3cret)"),
    "error sending request for url (https://h.example.com/in)",
  );
  const upper = secretScrubber([], { urls: ["HTTPS://H.EXAMPLE.COM/in?token=q-s3cret"] });
  assert.equal(
    upper("POST https://h.example.com/in?token=q-s3cret failed"),
    "POST https://h.example.com/in failed",
    "the URL as fetch writes it (href) too",
  );
  assert.equal(scrub("https://o.example.com/x?k=1"), "https://o.example.com/x");
  // A URL without a path: its shown form (with "/") already in the text is not rewritten again.
  const bare = secretScrubber([], { urls: ["http://127.0.0.1:4317"] });
  assert.equal(
    bare("gRPC http://127.0.0.1:4317/ answered UNAVAILABLE: connect http://127.0.0.1:4317 refused"),
    "gRPC http://127.0.0.1:4317/ answered UNAVAILABLE: connect http://127.0.0.1:4317/ refused",
  );
  // Longest first: a secret containing another is replaced whole.
  const nested = secretScrubber(["token-123456", "token-123456-extended"]);
  assert.equal(nested("a token-123456-extended b"), "a [SECRET] b");
  // Nothing to scrub: the text is returned unchanged.
  assert.equal(secretScrubber([])("plain"), "plain");
});

Deno.test("isSecretName: one name rule for config keys, headers and fields", () => {
  const secret = [
    "api_key",
    "apiKey",
    "x-api-key",
    "OPENMETER_API_KEY",
    "LANGFUSE_SECRET_KEY",
    "secret_access_key",
    "AWS_SESSION_TOKEN",
    "access_token",
    "master_key",
    "key",
    "password",
    "GALILEO_PASSWORD",
    "dsn",
    "SENTRY_DSN",
    "Authorization",
    "Cookie",
    "set_cookie",
    "X-Sentry-Auth",
    "credentials",
    "pseudonym_secret",
    "apikey",
    "clientSecret",
  ];
  for (const name of secret) assert.ok(isSecretName(name), name);
  const plain = [
    "access_key_id",
    "AWS_ACCESS_KEY_ID",
    "sse_kms_key_id",
    "key_alias",
    "user_api_key_hash",
    "langfuse_public_key",
    "max_tokens",
    "prompt_tokens",
    "update_trace_keys",
    "content-type",
    "trace_user_id",
    "author",
    "auth_mode",
    "",
  ];
  for (const name of plain) assert.ok(!isSecretName(name), name);
});

Deno.test("RecentIds: keeps the last ids added, a re-added id as the newest", () => {
  const ids = new RecentIds(3);
  for (const id of ["a", "b", "c"]) ids.add(id);
  ids.add("a"); // now the newest: "b" is the oldest
  ids.add("d");
  assert.deepEqual(["a", "b", "c", "d"].map((id) => ids.has(id)), [true, false, true, true]);
  assert.equal(ids.size, 3);
  ids.delete("c");
  ids.add("e");
  ids.add("f"); // full again: "a" goes
  assert.deepEqual(["a", "d", "e", "f"].map((id) => ids.has(id)), [false, true, true, true]);
  ids.clear();
  assert.equal(ids.size, 0);
  ids.add("a");
  assert.ok(ids.has("a"));
});

Deno.test("RecentIds: behaves as an insertion-ordered list under any mix of add, delete and clear", () => {
  const op = fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant("add"), id: fc.nat(40) }) },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant("delete"), id: fc.nat(40) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("clear"), id: fc.constant(0) }) },
  );
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 12 }),
      fc.array(op, { maxLength: 600 }),
      (capacity, ops) => {
        const ids = new RecentIds(capacity);
        let model: string[] = [];
        for (const { kind, id } of ops) {
          const key = `id-${id}`;
          if (kind === "add") {
            ids.add(key);
            model = [...model.filter((k) => k !== key), key].slice(-capacity);
          } else if (kind === "delete") {
            ids.delete(key);
            model = model.filter((k) => k !== key);
          } else {
            ids.clear();
            model = [];
          }
          assert.equal(ids.size, model.length);
        }
        for (let i = 0; i <= 40; i++) {
          assert.equal(ids.has(`id-${i}`), model.includes(`id-${i}`), `id-${i}`);
        }
      },
    ),
    { numRuns: 300 },
  );
});
