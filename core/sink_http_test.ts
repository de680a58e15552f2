/**
 * The sink plugins' HTTP helpers (`@sluice/core/sink-http`).
 */
import assert from "node:assert/strict";
import {
  basicAuth,
  displayUrl,
  errorDetail,
  fetchFailure,
  parseRetryAfter,
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
