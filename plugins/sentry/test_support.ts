/**
 * Test support (not published): a loopback Sentry receiver that decodes
 * envelopes line by line, independently of the sink's own envelope code.
 * Used by this package's tests and by `tests/sentry_*_test.ts`.
 * @module
 */

/** One item of an envelope. */
export interface ParsedItem {
  /** The item header line, parsed. */
  header: Record<string, unknown>;
  /** The payload bytes. */
  payload: Uint8Array;
  /** The payload as text. */
  text: string;
}

/** An envelope decoded by {@link parseEnvelopeBody}. */
export interface ParsedEnvelope {
  /** The envelope header line, parsed. */
  header: Record<string, unknown>;
  /** The items in order. */
  items: ParsedItem[];
}

const NL = 0x0a;
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Reads one header line: compact single-line JSON object, no surrounding whitespace, LF only. */
function headerLine(bytes: Uint8Array, what: string): Record<string, unknown> {
  const text = decoder.decode(bytes);
  if (text !== text.trim()) throw new Error(`${what}: leading or trailing whitespace`);
  if (text.includes("\r")) throw new Error(`${what}: contains a carriage return`);
  const value = JSON.parse(text);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${what}: not a JSON object`);
  }
  return value;
}

/**
 * Decodes an envelope body following the grammar of the Sentry docs:
 * `Envelope = Headers { "\n" Item } [ "\n" ]`, `Item = Headers "\n" Payload`.
 * A payload with `length` is exactly that many bytes and must be followed
 * by `\n` or the end; without `length` it runs to the next `\n`.
 * Throws on any deviation.
 */
export function parseEnvelopeBody(body: Uint8Array): ParsedEnvelope {
  let pos = 0;
  const lineEnd = () => {
    const i = body.indexOf(NL, pos);
    return i < 0 ? body.length : i;
  };
  let end = lineEnd();
  const header = headerLine(body.subarray(pos, end), "envelope header");
  pos = end + 1;
  const items: ParsedItem[] = [];
  while (pos < body.length) {
    end = lineEnd();
    const itemHeader = headerLine(body.subarray(pos, end), `item ${items.length} header`);
    if (end >= body.length) throw new Error(`item ${items.length}: header without payload`);
    pos = end + 1;
    let payload: Uint8Array;
    if (typeof itemHeader.length === "number") {
      const length = itemHeader.length;
      if (pos + length > body.length) {
        throw new Error(`item ${items.length}: length ${length} runs past the end`);
      }
      payload = body.subarray(pos, pos + length);
      pos += length;
      if (pos < body.length && body[pos] !== NL) {
        throw new Error(`item ${items.length}: payload not followed by a newline or the end`);
      }
      pos += 1;
    } else {
      end = lineEnd();
      payload = body.subarray(pos, end);
      pos = end + 1;
    }
    items.push({ header: itemHeader, payload, text: decoder.decode(payload) });
  }
  return { header, items };
}

/** The `X-Sentry-Auth` header, parsed. */
export interface SentryAuth {
  /** `sentry_version`. */
  version?: string;
  /** `sentry_key`. */
  key?: string;
  /** `sentry_client`. */
  client?: string;
  /** Every pair as sent. */
  all: Record<string, string>;
}

/** Parses `Sentry sentry_version=7, sentry_key=…, sentry_client=…`. */
export function parseSentryAuth(value: string | null): SentryAuth | undefined {
  if (!value?.startsWith("Sentry ")) return undefined;
  const all: Record<string, string> = {};
  for (const pair of value.slice("Sentry ".length).split(",")) {
    const [k, ...rest] = pair.trim().split("=");
    all[k] = rest.join("=");
  }
  return {
    version: all.sentry_version,
    key: all.sentry_key,
    client: all.sentry_client,
    all,
  };
}

/** One POST the receiver got and decoded. */
export interface ReceivedEnvelope {
  /** The request path. */
  path: string;
  /** The request headers. */
  headers: Headers;
  /** The parsed `X-Sentry-Auth`. */
  auth?: SentryAuth;
  /** The raw body as text (for "never contains" checks). */
  raw: string;
  /** The decoded envelope. */
  envelope: ParsedEnvelope;
  /** The `event` item's payload, parsed. */
  event: Record<string, unknown>;
  /** When it arrived (epoch ms). */
  at: number;
}

/** What the receiver answers: a Response, or undefined for the default 200. */
export type ReceiverAnswer = (received: ReceivedEnvelope) => Response | undefined;

/** Options of {@link startSentryReceiver}. */
export interface ReceiverOptions {
  /** Port to listen on (default: any). */
  port?: number;
  /** The project id of the DSN (default "4242"). */
  projectId?: string;
  /** The DSN's public key (default a fixed 32-hex key). */
  publicKey?: string;
  /** Called on every decoded envelope before answering (throw to fail it with 400). */
  check?: (received: ReceivedEnvelope) => void;
  /** Scripted answers. */
  answer?: ReceiverAnswer;
}

/** A running receiver. */
export interface SentryReceiver {
  /** A DSN pointing at it. */
  dsn: string;
  /** Its port. */
  port: number;
  /** Every envelope answered 2xx, in order. */
  accepted: ReceivedEnvelope[];
  /** Every envelope received, whatever the answer. */
  received: ReceivedEnvelope[];
  /** Problems found while decoding or checking (each also answered 400). */
  problems: string[];
  /** Replaces the answer script. */
  setAnswer(answer: ReceiverAnswer | undefined): void;
  /** Stops listening. */
  close(): Promise<void>;
}

/** The default public key of the test DSN. */
export const TEST_PUBLIC_KEY = "0123456789abcdef0123456789abcdef";

/**
 * Starts a loopback Sentry: accepts POST `/api/<project>/envelope/` with a
 * matching `X-Sentry-Auth` key, decodes the envelope line by line, runs
 * `check`, and answers 200 `{"id": <event_id>}` unless `answer` says
 * otherwise. Wrong path or key: 404 / 403, recorded as problems.
 */
export function startSentryReceiver(options: ReceiverOptions = {}): SentryReceiver {
  const projectId = options.projectId ?? "4242";
  const publicKey = options.publicKey ?? TEST_PUBLIC_KEY;
  const accepted: ReceivedEnvelope[] = [];
  const received: ReceivedEnvelope[] = [];
  const problems: string[] = [];
  let answer = options.answer;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen() {} },
    async (req) => {
      const url = new URL(req.url);
      const body = new Uint8Array(await req.arrayBuffer());
      if (req.method !== "POST" || url.pathname !== `/api/${projectId}/envelope/`) {
        problems.push(`unexpected ${req.method} ${url.pathname}`);
        return Response.json({ detail: "not found" }, { status: 404 });
      }
      const auth = parseSentryAuth(req.headers.get("x-sentry-auth"));
      if (auth?.key !== publicKey || auth.version !== "7") {
        problems.push(`bad X-Sentry-Auth: ${req.headers.get("x-sentry-auth")}`);
        return Response.json({ detail: "bad auth" }, { status: 403 });
      }
      let item: ReceivedEnvelope;
      try {
        const envelope = parseEnvelopeBody(body);
        const eventItem = envelope.items.find((i) => i.header.type === "event");
        if (!eventItem) throw new Error("no event item");
        item = {
          path: url.pathname,
          headers: req.headers,
          auth,
          raw: new TextDecoder().decode(body),
          envelope,
          event: JSON.parse(eventItem.text),
          at: Date.now(),
        };
        options.check?.(item);
      } catch (error) {
        problems.push(String(error));
        return Response.json({ detail: String(error) }, { status: 400 });
      }
      received.push(item);
      const scripted = answer?.(item) ?? Response.json({ id: item.envelope.header.event_id });
      if (scripted.ok) accepted.push(item);
      return scripted;
    },
  );
  const port = server.addr.port;
  return {
    dsn: `http://${publicKey}@127.0.0.1:${port}/${projectId}`,
    port,
    accepted,
    received,
    problems,
    setAnswer(next) {
      answer = next;
    },
    close: () => server.shutdown(),
  };
}

/** The one wait-for-a-condition helper, from the conformance kit. */
export { until } from "@sluice/core/testing";
