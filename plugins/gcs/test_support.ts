/**
 * Test support (not published): a loopback stand-in for Google's OAuth 2.0
 * token endpoint, the Cloud Storage JSON API's media upload, Pub/Sub's
 * `topics.publish` and the metadata server's token, each checking what
 * Google documents:
 * - the token endpoint verifies the JWT assertion's RS256 signature with
 *   the service account's public key (a key pair made here with WebCrypto)
 *   and its claims (`iss`, `scope`, `aud`, `iat`, `exp` ≤ 1 hour), and
 *   answers `{access_token, expires_in, token_type}`;
 * - uploads and publishes need a live token it issued (else 401 in
 *   Google's error shape); publish bodies are validated against
 *   `tests/fixtures/schemas/pubsub-publish-request.schema.json`, with one
 *   `orderingKey` per request and the 10 MB request limit.
 * @module
 */
import AjvDraft7 from "npm:ajv@8.17.1";
import publishSchema from "../../tests/fixtures/schemas/pubsub-publish-request.schema.json" with {
  type: "json",
};

/** A service account key file's JSON, as Google issues it. */
export interface FakeServiceAccount {
  type: "service_account";
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  token_uri: string;
}

/** A token request the fake accepted. */
export interface TokenGrant {
  /** `jwt-bearer`, `refresh_token` or `metadata`. */
  kind: "jwt-bearer" | "refresh_token" | "metadata";
  /** The JWT's header and claims (jwt-bearer only). */
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  /** The token issued. */
  token: string;
}

/** An object uploaded with `uploadType=media`. */
export interface StoredObject {
  bucket: string;
  name: string;
  contentType: string | null;
  body: string;
  /** The token the upload carried (none from an emulator client). */
  token?: string;
}

/** A message published to a topic (data decoded). */
export interface PublishedMessage {
  topic: string;
  data: string;
  attributes: Record<string, string>;
  orderingKey?: string;
  messageId: string;
  /** The token the publish carried. */
  token?: string;
}

/** What the fake answers instead, per request kind (return undefined to serve normally). */
export type FakeScript = (
  kind: "token" | "upload" | "publish" | "metadata",
  req: Request,
) => Response | undefined | Promise<Response | undefined>;

/** Options of {@link startGoogleFake}. */
export interface GoogleFakeOptions {
  /** The scope a JWT must ask for. */
  scope?: string;
  /** `expires_in` of issued tokens (seconds, default 3599). */
  expiresIn?: number;
  /** Scripted answers. */
  script?: FakeScript;
  /** The fake's clock in epoch ms (default `Date.now`): share a test's moved clock. */
  now?: () => number;
  /** Accept uploads and publishes without credentials (an emulator). */
  emulator?: boolean;
  /** Listen on this port (a restart after an outage). */
  port?: number;
  /** Also accept tokens this other fake issued (its token endpoint stays up while this one is down). */
  trust?: Pick<GoogleFake, "isLive">;
}

/** A running fake. */
export interface GoogleFake {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** The service account (its `token_uri` points at the fake). */
  serviceAccount: FakeServiceAccount;
  /** The key file's JSON. */
  keyJson: string;
  /** Accepted token requests, in order. */
  grants: TokenGrant[];
  /** Refused requests: why, in order. */
  refusals: string[];
  /** Objects by `bucket/name` (the latest upload of each). */
  objects: Map<string, StoredObject>;
  /** Every upload, in order. */
  uploads: StoredObject[];
  /** Published messages, in order. */
  messages: PublishedMessage[];
  /** Publish request bodies as received, in order. */
  publishBodies: unknown[];
  /** Whether the fake issued `token` and it is neither expired nor revoked. */
  isLive(token: string): boolean;
  /** Makes a token invalid (uploads with it get 401). */
  revoke(token: string): void;
  /** Replaces the script. */
  setScript(script: FakeScript | undefined): void;
  /** Writes the key file to a temporary path and returns it. */
  writeKeyFile(): Promise<string>;
  close(): Promise<void>;
}

const decoder = new TextDecoder();
const validatePublish = new AjvDraft7.default({ strict: false, allErrors: true }).compile(
  publishSchema,
);

/** Google's JSON error body. */
export function googleError(code: number, message: string, status = ""): Response {
  return Response.json({ error: { code, message, status, errors: [{ message }] } }, {
    status: code,
  });
}

/** Starts the fake on 127.0.0.1 with a fresh RSA key pair and service account. */
export async function startGoogleFake(options: GoogleFakeOptions = {}): Promise<GoogleFake> {
  const pair = await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const pem = `-----BEGIN PRIVATE KEY-----\n${
    pkcs8.toBase64().match(/.{1,64}/g)!.join("\n")
  }\n-----END PRIVATE KEY-----\n`;
  const grants: TokenGrant[] = [];
  const refusals: string[] = [];
  const objects = new Map<string, StoredObject>();
  const uploads: StoredObject[] = [];
  const messages: PublishedMessage[] = [];
  const publishBodies: unknown[] = [];
  const live = new Map<string, number>(); // token → expiry (epoch ms)
  const expiresIn = options.expiresIn ?? 3599;
  const now = options.now ?? Date.now;
  let script = options.script;
  let issuedCount = 0;
  let messageCount = 0;
  const files: string[] = [];

  const refuse = (why: string, res: Response) => {
    refusals.push(why);
    return res;
  };
  const issue = (grant: Omit<TokenGrant, "token">) => {
    const token = `ya29.fake-${++issuedCount}-${crypto.randomUUID()}`;
    live.set(token, now() + expiresIn * 1000);
    grants.push({ ...grant, token });
    return Response.json({ access_token: token, expires_in: expiresIn, token_type: "Bearer" });
  };
  const isLive = (token: string) => (live.get(token) ?? 0) > now();
  const bearer = (req: Request) => {
    const header = req.headers.get("authorization") ?? "";
    const token = /^Bearer (\S+)$/.exec(header)?.[1];
    return { token, ok: token !== undefined && (isLive(token) || !!options.trust?.isLive(token)) };
  };

  async function token(req: Request, serviceAccount: FakeServiceAccount): Promise<Response> {
    if (req.headers.get("content-type") !== "application/x-www-form-urlencoded") {
      return refuse(
        "token: content-type",
        Response.json({ error: "invalid_request" }, { status: 400 }),
      );
    }
    const form = new URLSearchParams(await req.text());
    if (form.get("grant_type") === "refresh_token") {
      return issue({ kind: "refresh_token" });
    }
    if (form.get("grant_type") !== "urn:ietf:params:oauth:grant-type:jwt-bearer") {
      return refuse(
        "token: grant_type",
        Response.json({ error: "unsupported_grant_type" }, { status: 400 }),
      );
    }
    const parts = (form.get("assertion") ?? "").split(".");
    const invalid = (why: string) =>
      refuse(
        `token: ${why}`,
        Response.json({ error: "invalid_grant", error_description: why }, { status: 400 }),
      );
    if (parts.length !== 3) return invalid("Invalid JWT: not three parts");
    const part = (i: number) =>
      JSON.parse(decoder.decode(Uint8Array.fromBase64(parts[i], { alphabet: "base64url" })));
    const header = part(0);
    const claims = part(1);
    if (header.alg !== "RS256" || header.typ !== "JWT") return invalid("Invalid JWT header");
    if (header.kid !== undefined && header.kid !== serviceAccount.private_key_id) {
      return invalid("Invalid JWT: unknown kid");
    }
    const signed = await crypto.subtle.verify(
      "RSASSA-PKCS1-v1_5",
      pair.publicKey,
      Uint8Array.fromBase64(parts[2], { alphabet: "base64url" }),
      new TextEncoder().encode(`${parts[0]}.${parts[1]}`),
    );
    if (!signed) return invalid("Invalid JWT Signature.");
    const seconds = Math.floor(now() / 1000);
    if (claims.iss !== serviceAccount.client_email) return invalid("Invalid JWT: iss");
    if (claims.aud !== serviceAccount.token_uri) return invalid("Invalid JWT: aud");
    if (typeof claims.scope !== "string" || claims.scope === "") {
      return invalid("Invalid JWT: scope");
    }
    if (options.scope !== undefined && !claims.scope.split(" ").includes(options.scope)) {
      return invalid("Invalid JWT: scope");
    }
    if (typeof claims.iat !== "number" || Math.abs(claims.iat - seconds) > 60) {
      return invalid("Invalid JWT: Token must be a short-lived token (iat)");
    }
    if (
      typeof claims.exp !== "number" || claims.exp <= claims.iat || claims.exp - claims.iat > 3600
    ) {
      return invalid("Invalid JWT: Token must be a short-lived token (60 minutes)");
    }
    return issue({ kind: "jwt-bearer", header, claims });
  }

  async function upload(req: Request, bucket: string, url: URL): Promise<Response> {
    const auth = bearer(req);
    if (req.headers.has("authorization") && !auth.ok) {
      await req.body?.cancel();
      return refuse("upload: token", googleError(401, "Invalid Credentials", "UNAUTHENTICATED"));
    }
    if (!req.headers.has("authorization") && !emulatorMode) {
      await req.body?.cancel();
      return refuse(
        "upload: anonymous",
        googleError(401, "Anonymous caller does not have storage.objects.create access"),
      );
    }
    const name = url.searchParams.get("name") ?? "";
    if (url.searchParams.get("uploadType") !== "media" || !name) {
      await req.body?.cancel();
      return refuse(
        "upload: query",
        googleError(400, "Upload requests must include an uploadType"),
      );
    }
    if (new TextEncoder().encode(name).length > 1024 || /[\r\n]/.test(name)) {
      await req.body?.cancel();
      return refuse("upload: name", googleError(400, "The object name is invalid."));
    }
    const body = await req.text();
    const contentType = req.headers.get("content-type");
    const stored = { bucket, name, contentType, body, token: auth.token };
    uploads.push(stored);
    objects.set(`${bucket}/${name}`, stored);
    return Response.json({
      kind: "storage#object",
      id: `${bucket}/${name}/1`,
      name,
      bucket,
      contentType,
      size: String(new TextEncoder().encode(body).length),
    });
  }

  async function publish(req: Request, topic: string): Promise<Response> {
    const auth = bearer(req);
    if (!emulatorMode && !auth.ok) {
      await req.body?.cancel();
      return refuse("publish: token", googleError(401, "Invalid Credentials", "UNAUTHENTICATED"));
    }
    const text = await req.text();
    if (new TextEncoder().encode(text).length > 10_000_000) {
      return refuse("publish: size", googleError(400, "Request payload size exceeds the limit"));
    }
    let body: {
      messages?: { data?: string; attributes?: Record<string, string>; orderingKey?: string }[];
    };
    try {
      body = JSON.parse(text);
    } catch {
      return refuse("publish: json", googleError(400, "Invalid JSON payload received."));
    }
    publishBodies.push(body);
    if (!validatePublish(body)) {
      return refuse(
        `publish: schema ${JSON.stringify(validatePublish.errors)}`,
        googleError(400, "Invalid publish request", "INVALID_ARGUMENT"),
      );
    }
    const keys = new Set(body.messages!.map((m) => m.orderingKey ?? ""));
    if (keys.size > 1) {
      return refuse(
        "publish: ordering keys",
        googleError(400, "All messages in a publish request must have the same ordering key"),
      );
    }
    const ids = body.messages!.map((m) => {
      const messageId = String(++messageCount);
      messages.push({
        topic,
        data: decoder.decode(Uint8Array.fromBase64(m.data ?? "")),
        attributes: m.attributes ?? {},
        ...(m.orderingKey ? { orderingKey: m.orderingKey } : {}),
        messageId,
        token: auth.token,
      });
      return messageId;
    });
    return Response.json({ messageIds: ids });
  }

  const emulatorMode = options.emulator ?? false;
  const serviceAccount = {} as FakeServiceAccount; // filled in once the port is known
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, onListen() {} },
    async (req) => {
      const url = new URL(req.url);
      const kind = url.pathname === "/token"
        ? "token"
        : url.pathname.startsWith("/upload/storage/v1/b/")
        ? "upload"
        : url.pathname.includes(":publish")
        ? "publish"
        : url.pathname.startsWith("/computeMetadata/")
        ? "metadata"
        : undefined;
      if (kind && script) {
        const scripted = await script(kind, req);
        if (scripted) {
          await req.body?.cancel().catch(() => {});
          return scripted;
        }
      }
      if (kind === "token" && req.method === "POST") return token(req, serviceAccount);
      const storage = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(url.pathname);
      if (storage && req.method === "POST") {
        return upload(req, decodeURIComponent(storage[1]), url);
      }
      const topic = /^\/v1\/(projects\/[^/]+\/topics\/[^/:]+):publish$/.exec(url.pathname);
      if (topic && req.method === "POST") return publish(req, topic[1]);
      if (url.pathname === "/computeMetadata/v1/instance/service-accounts/default/token") {
        if (req.headers.get("metadata-flavor") !== "Google") {
          return refuse(
            "metadata: flavor",
            new Response("Missing Metadata-Flavor", { status: 403 }),
          );
        }
        return issue({ kind: "metadata" });
      }
      await req.body?.cancel();
      return refuse(`unknown route ${req.method} ${url.pathname}`, googleError(404, "Not Found"));
    },
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  Object.assign(
    serviceAccount,
    {
      type: "service_account",
      project_id: "sluice-test",
      private_key_id: crypto.randomUUID().replaceAll("-", ""),
      private_key: pem,
      client_email: "llm-logger@sluice-test.iam.gserviceaccount.com",
      client_id: "1098765432123456789",
      token_uri: `${url}/token`,
    } satisfies FakeServiceAccount,
  );

  const keyJson = JSON.stringify(serviceAccount);
  return {
    url,
    serviceAccount,
    keyJson,
    grants,
    refusals,
    objects,
    uploads,
    messages,
    publishBodies,
    isLive,
    revoke: (t) => void live.delete(t),
    setScript: (next) => void (script = next),
    async writeKeyFile() {
      const path = await Deno.makeTempFile({ prefix: "sluice-sa-", suffix: ".json" });
      await Deno.writeTextFile(path, keyJson);
      files.push(path);
      return path;
    },
    async close() {
      await server.shutdown();
      for (const file of files) await Deno.remove(file).catch(() => {});
    },
  };
}
