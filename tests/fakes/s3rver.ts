/**
 * An in-process S3-compatible store (npm:s3rver) on 127.0.0.1 for the s3
 * sink's tests, a recording proxy that can stand in front of it and answer
 * errors, and read-back helpers built on the official AWS SDK. s3rver checks
 * that the access key id exists (its default account is `S3RVER`) but not
 * SigV4 signatures: tests recompute those themselves.
 * @module
 */
import S3rver from "npm:s3rver@3.7.1";
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from "npm:@aws-sdk/client-s3@3.1175.0";

/** The access key id s3rver's default account accepts. */
export const S3RVER_KEY_ID = "S3RVER";

/** A running s3rver that can be stopped and started again on the same port and directory. */
export interface FakeS3 {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** The port (kept across restarts). */
  port: number;
  /** Stops the server; objects stay on disk. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same objects. */
  start(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

/** Starts s3rver on a random loopback port in a temp directory with `buckets`. */
export async function startS3rver(buckets: string[] = ["logs"]): Promise<FakeS3> {
  const directory = await Deno.makeTempDir({ prefix: "sluice-s3-" });
  let port = 0;
  let server: S3rver | undefined;
  const start = async () => {
    server = new S3rver({
      address: "127.0.0.1",
      port,
      silent: true,
      directory,
      configureBuckets: buckets.map((name) => ({ name, configs: [] })),
    });
    const address = await server.run();
    port = address.port;
  };
  const stop = async () => {
    const running = server;
    server = undefined;
    await running?.close();
  };
  await start();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    stop,
    start,
    async close() {
      await stop();
      await Deno.remove(directory, { recursive: true });
    },
  };
}

/** One request the proxy saw. */
export interface ProxiedRequest {
  /** HTTP method. */
  method: string;
  /** Path and query as sent. */
  path: string;
  /** Request headers. */
  headers: Headers;
  /** The raw body. */
  body: Uint8Array<ArrayBuffer>;
}

/** What the proxy does with the next requests. */
export type ProxyMode =
  | { kind: "pass" }
  | { kind: "answer"; status: number; body?: string; headers?: Record<string, string> };

/** A loopback proxy in front of an S3 endpoint: records requests, forwards or answers. */
export interface S3Proxy {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  /** Requests in arrival order. */
  requests: ProxiedRequest[];
  /** Changes what the proxy does. */
  setMode(mode: ProxyMode): void;
  /** Stops the proxy. */
  close(): Promise<void>;
}

/** Starts a proxy to `target` (an endpoint origin); it passes everything through until told otherwise. */
export function startS3Proxy(target: string): S3Proxy {
  const requests: ProxiedRequest[] = [];
  let mode: ProxyMode = { kind: "pass" };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const body = new Uint8Array(await req.arrayBuffer());
    requests.push({
      method: req.method,
      path: url.pathname + url.search,
      headers: req.headers,
      body,
    });
    if (mode.kind === "answer") {
      return new Response(mode.body ?? "", { status: mode.status, headers: mode.headers });
    }
    const headers = new Headers(req.headers);
    headers.delete("host");
    const res = await fetch(`${target}${url.pathname}${url.search}`, {
      method: req.method,
      headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
    });
    return new Response(await res.arrayBuffer(), { status: res.status, headers: res.headers });
  });
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    requests,
    setMode: (next) => (mode = next),
    close: () => server.shutdown(),
  };
}

/** An S3 error body as S3 writes it. */
export function s3ErrorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>`;
}

/** The official AWS SDK client for an s3rver endpoint (path style, dummy credentials). */
export function sdkClient(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_KEY_ID, secretAccessKey: "S3RVER" },
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

/** Every key in `bucket` (optionally under `prefix`), via ListObjectsV2 with paging. */
export async function listKeys(
  client: S3Client,
  bucket: string,
  prefix?: string,
): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/** An object's text and content type, via GetObject. */
export async function getObject(
  client: S3Client,
  bucket: string,
  key: string,
): Promise<{ text: string; contentType?: string; etag?: string }> {
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return {
    text: await res.Body!.transformToString(),
    contentType: res.ContentType,
    etag: res.ETag,
  };
}

/** An object's ETag and length, via HeadObject. */
export async function headObject(
  client: S3Client,
  bucket: string,
  key: string,
): Promise<{ etag?: string; length?: number }> {
  const res = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  return { etag: res.ETag, length: res.ContentLength };
}
