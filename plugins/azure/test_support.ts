/**
 * Microsoft's Azure Storage emulator, Azurite (npm:azurite, Blob service
 * only), as a subprocess on a random loopback port for the Azure sinks'
 * tests. Azurite checks Shared Key signatures with its well-known account
 * (`devstoreaccount1`); with `oauth: true` it serves https (a CA and a
 * certificate for 127.0.0.1 made here with openssl) and also accepts
 * bearer tokens (`--oauth basic`: audience, issuer and lifetime checked,
 * not the token's signature). Read-back helpers use the official
 * `@azure/storage-blob` SDK.
 *
 * Azurite runs with `--no-config --no-lock` from its own temp directory,
 * so its large dependency tree stays out of the workspace's lockfile; the
 * version is pinned in the specifier.
 * @module
 */
import { BlobServiceClient, StorageSharedKeyCredential } from "npm:@azure/storage-blob@12.34.0";
import { AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME } from "./connection_string.ts";
import { importAccountKey, sharedKeyAuthorization } from "./shared_key.ts";
import { until } from "@sluice/core/testing";

/** The Azurite release the tests run. */
export const AZURITE = "npm:azurite@3.37.0/azurite-blob";

/** Options of {@link startAzurite}. */
export interface AzuriteOptions {
  /** Serve https and accept bearer tokens (`--oauth basic`). */
  oauth?: boolean;
  /** Keep blobs on disk (so a restart keeps them) instead of in memory. */
  onDisk?: boolean;
}

/** A running Azurite. */
export interface Azurite {
  /** The Blob endpoint of the well-known account: `http(s)://127.0.0.1:<port>/devstoreaccount1`. */
  blobEndpoint: string;
  /** Azurite's connection string for this port. */
  connectionString: string;
  /** The port (kept across restarts). */
  port: number;
  /** The CA certificate (PEM) of the https certificate, with `oauth`. */
  caCert?: string;
  /** A `fetch` that trusts {@link caCert} (the global fetch without `oauth`). */
  fetch: typeof fetch;
  /** Creates a container. */
  createContainer(name: string): Promise<void>;
  /** Every blob of a container: name → content, type and size. */
  blobs(container: string): Promise<Map<string, { body: string; contentType?: string }>>;
  /** Stops the emulator (on disk, blobs stay). */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** A CA and a server certificate for 127.0.0.1 signed by it, in `dir`. */
async function makeCertificates(dir: string): Promise<void> {
  await openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=sluice-test-ca",
  ], dir);
  await openssl([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "key.pem",
    "-out",
    "leaf.csr",
    "-subj",
    "/CN=127.0.0.1",
  ], dir);
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n" +
      "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
  );
  await openssl([
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "cert.pem",
    "-days",
    "2",
    "-extfile",
    "ext.cnf",
  ], dir);
}

/** Starts Azurite's Blob service on a random loopback port. */
export async function startAzurite(options: AzuriteOptions = {}): Promise<Azurite> {
  const dir = await Deno.makeTempDir({ prefix: "sluice-azurite-" });
  await Deno.mkdir(`${dir}/data`);
  const port = freePort();
  const scheme = options.oauth ? "https" : "http";
  const blobEndpoint = `${scheme}://127.0.0.1:${port}/${AZURITE_ACCOUNT_NAME}`;
  let caCert: string | undefined;
  let client: Deno.HttpClient | undefined;
  if (options.oauth) {
    await makeCertificates(dir);
    caCert = await Deno.readTextFile(`${dir}/ca.pem`);
    client = Deno.createHttpClient({ caCerts: [caCert] });
  }
  const trustingFetch: typeof fetch = client
    ? (input, init) => fetch(input, { ...init, client })
    : fetch;
  const args = [
    "run",
    "-A",
    "--no-config",
    "--no-lock",
    "--quiet",
    AZURITE,
    "--blobHost",
    "127.0.0.1",
    "--blobPort",
    String(port),
    "--skipApiVersionCheck",
    "--disableTelemetry",
    "--silent",
    ...(options.onDisk ? ["--location", `${dir}/data`] : ["--inMemoryPersistence"]),
    ...(options.oauth ? ["--oauth", "basic", "--cert", "cert.pem", "--key", "key.pem"] : []),
  ];
  let child: Deno.ChildProcess | undefined;
  const start = async () => {
    child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "null",
      env: { NO_COLOR: "1" },
    }).spawn();
    const running = child;
    let exited = false;
    running.status.then(() => (exited = true));
    await until(
      async () => {
        if (exited) throw new Error("azurite exited before listening");
        try {
          const res = await trustingFetch(`${blobEndpoint}?comp=list`);
          await res.body?.cancel();
          return true; // any answer (403 without credentials) means it listens
        } catch {
          return false;
        }
      },
      120_000,
      "azurite to listen",
    );
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running) return;
    try {
      running.kill("SIGTERM");
    } catch {
      // already gone
    }
    await running.status;
  };
  await start();
  const connectionString =
    `DefaultEndpointsProtocol=${scheme};AccountName=${AZURITE_ACCOUNT_NAME};` +
    `AccountKey=${AZURITE_ACCOUNT_KEY};BlobEndpoint=${blobEndpoint};`;
  /** A request signed with the well-known account's key. */
  const signed = async (method: string, url: string) => {
    const key = await importAccountKey(AZURITE_ACCOUNT_KEY);
    const headers = new Headers({
      "x-ms-date": new Date().toUTCString(),
      "x-ms-version": "2021-08-06",
    });
    headers.set(
      "authorization",
      await sharedKeyAuthorization({ method, url, headers }, AZURITE_ACCOUNT_NAME, key),
    );
    const res = await trustingFetch(url, { method, headers });
    if (!res.ok && method === "GET") throw new Error(`${method} ${url}: ${res.status}`);
    return res;
  };
  const service = () => {
    const credential = new StorageSharedKeyCredential(AZURITE_ACCOUNT_NAME, AZURITE_ACCOUNT_KEY);
    return new BlobServiceClient(blobEndpoint, credential);
  };
  return {
    blobEndpoint,
    connectionString,
    port,
    caCert,
    fetch: trustingFetch,
    async createContainer(name) {
      if (options.oauth) {
        // The SDK's Node transport does not know the test CA: create it with a signed request.
        const res = await signed("PUT", `${blobEndpoint}/${name}?restype=container`);
        await res.body?.cancel();
        if (res.status !== 201) throw new Error(`create container: ${res.status}`);
        return;
      }
      await service().getContainerClient(name).create();
    },
    async blobs(container) {
      const found = new Map<string, { body: string; contentType?: string }>();
      if (options.oauth) {
        // The SDK's Node transport does not know the test CA: List Blobs and Get Blob, signed.
        const list = await signed(
          "GET",
          `${blobEndpoint}/${container}?restype=container&comp=list`,
        );
        const names = [...(await list.text()).matchAll(/<Name>([^<]*)<\/Name>/g)].map((m) =>
          m[1].replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">")
        );
        for (const name of names) {
          const path = name.split("/").map(encodeURIComponent).join("/");
          const res = await signed("GET", `${blobEndpoint}/${container}/${path}`);
          found.set(name, {
            body: await res.text(),
            contentType: res.headers.get("content-type") ?? undefined,
          });
        }
        return found;
      }
      const client = service().getContainerClient(container);
      for await (const item of client.listBlobsFlat()) {
        const buffer = await client.getBlobClient(item.name).downloadToBuffer();
        found.set(item.name, {
          body: new TextDecoder().decode(buffer),
          contentType: item.properties.contentType,
        });
      }
      return found;
    },
    stop,
    start,
    async close() {
      await stop();
      client?.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A token the Entra stand-in issued. */
export interface EntraGrant {
  /** The access token. */
  token: string;
  /** The scope asked for. */
  scope: string;
  /** The tenant in the path. */
  tenant: string;
}

/** Options of {@link startEntraFake}. */
export interface EntraFakeOptions {
  /** The tenant id accepted (default a fixed GUID). */
  tenantId?: string;
  /** The client id accepted. */
  clientId?: string;
  /** The client secret accepted. */
  clientSecret?: string;
  /** `expires_in` of each token in seconds (default 3599). */
  lifetimeS?: number;
  /** The scope accepted (default `https://storage.azure.com/.default`). */
  scope?: string;
}

/** A loopback stand-in for Entra ID's v2.0 token endpoint. */
export interface EntraFake {
  /** The authority host to configure (`http://127.0.0.1:<port>`). */
  authorityHost: string;
  /** The accepted tenant, client id and secret. */
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** Tokens issued, in order. */
  grants: EntraGrant[];
  /** Token requests refused, with the reason. */
  refusals: string[];
  /** Token requests received (answered or not). */
  requests: number;
  /** While set, the endpoint answers this status (e.g. 503). */
  failWith?: number;
  /** Stops it. */
  close(): Promise<void>;
}

const jsonPart = (value: unknown) =>
  new TextEncoder().encode(JSON.stringify(value)).toBase64({
    alphabet: "base64url",
    omitPadding: true,
  });

/**
 * Starts a token endpoint at `/{tenant}/oauth2/v2.0/token` that checks a
 * client credentials request as Entra ID documents it (form body,
 * `grant_type=client_credentials`, client id, secret, scope) and issues
 * JWT-shaped access tokens (`aud` the scope's resource, `iss`
 * `https://sts.windows.net/{tenant}/`, `nbf`/`exp`), which Azurite's
 * `--oauth basic` accepts. A wrong secret gets Entra's 401
 * `invalid_client` (AADSTS7000215), a wrong tenant 400 (AADSTS90002).
 */
export function startEntraFake(options: EntraFakeOptions = {}): EntraFake {
  const tenantId = options.tenantId ?? "72f988bf-86f1-41af-91ab-2d7cd011db47";
  const clientId = options.clientId ?? "0f3b2c1d-1111-4222-8333-944455556666";
  const clientSecret = options.clientSecret ?? "fake~client~secret~0123456789abcdef";
  const scope = options.scope ?? "https://storage.azure.com/.default";
  const lifetime = options.lifetimeS ?? 3599;
  const fake: EntraFake = {
    authorityHost: "",
    tenantId,
    clientId,
    clientSecret,
    grants: [],
    refusals: [],
    requests: 0,
    close: () => server.shutdown(),
  };
  const refuse = (status: number, error: string, description: string, why: string) => {
    fake.refusals.push(why);
    return Response.json({
      error,
      error_description: `${description}\r\nTrace ID: ${crypto.randomUUID()}\r\n` +
        `Correlation ID: ${crypto.randomUUID()}\r\nTimestamp: ${new Date().toISOString()}`,
      error_codes: [Number(/AADSTS(\d+)/.exec(description)?.[1] ?? 0)],
    }, { status });
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    fake.requests++;
    const body = await req.text();
    if (fake.failWith) return new Response("unavailable", { status: fake.failWith });
    const match = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(new URL(req.url).pathname);
    if (req.method !== "POST" || !match) return new Response("not found", { status: 404 });
    if (!req.headers.get("content-type")?.startsWith("application/x-www-form-urlencoded")) {
      return refuse(400, "invalid_request", "AADSTS900144: form body expected.", "content-type");
    }
    const tenant = decodeURIComponent(match[1]);
    if (tenant !== tenantId) {
      return refuse(
        400,
        "invalid_request",
        `AADSTS90002: Tenant '${tenant}' not found.`,
        "tenant",
      );
    }
    const form = new URLSearchParams(body);
    if (form.get("grant_type") !== "client_credentials") {
      return refuse(400, "unsupported_grant_type", "AADSTS70003: grant type.", "grant_type");
    }
    if (form.get("scope") !== scope) {
      return refuse(400, "invalid_scope", "AADSTS70011: The provided scope is invalid.", "scope");
    }
    if (form.get("client_id") !== clientId) {
      return refuse(400, "unauthorized_client", "AADSTS700016: Application not found.", "client");
    }
    if (form.get("client_secret") !== clientSecret) {
      return refuse(
        401,
        "invalid_client",
        "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the " +
          "request is the client secret value, not the client secret ID.",
        "secret",
      );
    }
    const now = Math.floor(Date.now() / 1000);
    const token = `${jsonPart({ typ: "JWT", alg: "RS256" })}.${
      jsonPart({
        aud: scope.replace(/\/\.default$/, ""),
        iss: `https://sts.windows.net/${tenantId}/`,
        iat: now - 5,
        nbf: now - 5,
        exp: now + lifetime,
        appid: clientId,
        tid: tenantId,
        oid: crypto.randomUUID(),
        jti: crypto.randomUUID(),
      })
    }.c2lnbmF0dXJl`;
    fake.grants.push({ token, scope: form.get("scope") ?? "", tenant });
    return Response.json({
      token_type: "Bearer",
      expires_in: lifetime,
      ext_expires_in: lifetime,
      access_token: token,
    });
  });
  fake.authorityHost = `http://127.0.0.1:${server.addr.port}`;
  return fake;
}
