/**
 * Azure Storage's Shared Key authorization (version 2009-09-19 and later):
 * the string to sign from the request's verb, standard headers,
 * `x-ms-*` headers and resource, HMAC-SHA256 with the account key through
 * WebCrypto, `Authorization: SharedKey <account>:<signature>`.
 *
 * Written from Microsoft's "Authorize with Shared Key" reference
 * (https://learn.microsoft.com/en-us/rest/api/storageservices/authorize-with-shared-key).
 * @module
 */

/** The standard headers of the string to sign, in its order (after the verb). */
const SIGNED_HEADERS = [
  "content-encoding",
  "content-language",
  "content-length",
  "content-md5",
  "content-type",
  "date",
  "if-modified-since",
  "if-match",
  "if-none-match",
  "if-unmodified-since",
  "range",
] as const;

/** The parts of a request Shared Key signs. */
export interface SignedRequest {
  /** The HTTP verb (`PUT`, `GET`, …). */
  method: string;
  /** The request URL, path percent-encoded as sent. */
  url: string | URL;
  /** The request's headers (must already carry `x-ms-date` and `x-ms-version`). */
  headers: Headers;
}

const encoder = new TextEncoder();

/** A header value with runs of whitespace folded to one space, trimmed (the spec's canonical form). */
const canonicalValue = (value: string) => value.replace(/\s+/g, " ").trim();

/**
 * The Shared Key string to sign of a request for `account` (Blob, Queue
 * and File services): the verb, the eleven standard headers (an empty
 * `Content-Length` for a zero length; `Date` empty when `x-ms-date` is
 * set), the canonicalized `x-ms-*` headers and the canonicalized resource
 * (`/<account><path>` and each query parameter, lowercased and sorted, as
 * `\nname:value[,value]`).
 *
 * @param request The request's verb, URL and headers.
 * @param account The storage account name (the emulator's path-style URLs
 *   repeat it: `/devstoreaccount1/devstoreaccount1/container`).
 * @returns The string to sign.
 *
 * @example
 * ```ts
 * import { sharedKeyStringToSign } from "@sluice/azure";
 *
 * const headers = new Headers({
 *   "x-ms-date": "Sun, 06 Dec 2026 12:00:00 GMT",
 *   "x-ms-version": "2021-08-06",
 *   "x-ms-blob-type": "BlockBlob",
 *   "content-type": "application/json",
 *   "content-length": "2",
 * });
 * const url = "https://myaccount.blob.core.windows.net/logs/a/b.json";
 * sharedKeyStringToSign({ method: "PUT", url, headers }, "myaccount");
 * // "PUT\n\n\n2\n\napplication/json\n\n\n\n\n\n\nx-ms-blob-type:BlockBlob\n
 * //  x-ms-date:Sun, 06 Dec 2026 12:00:00 GMT\nx-ms-version:2021-08-06\n/myaccount/logs/a/b.json"
 * ```
 */
export function sharedKeyStringToSign(request: SignedRequest, account: string): string {
  const { headers } = request;
  const url = new URL(request.url);
  const standard = SIGNED_HEADERS.map((name) => {
    const value = headers.get(name) ?? "";
    if (name === "content-length" && value === "0") return "";
    if (name === "date" && headers.has("x-ms-date")) return "";
    return value;
  });
  const msHeaders: string[] = [];
  for (const [name, value] of headers) {
    if (name.startsWith("x-ms-")) msHeaders.push(`${name}:${canonicalValue(value)}\n`);
  }
  msHeaders.sort();
  let resource = `/${account}${url.pathname || "/"}`;
  const params = new Map<string, string[]>();
  for (const [name, value] of url.searchParams) {
    const key = name.toLowerCase();
    params.set(key, [...params.get(key) ?? [], value]);
  }
  for (const name of [...params.keys()].sort()) {
    resource += `\n${name}:${params.get(name)!.sort().join(",")}`;
  }
  return `${request.method.toUpperCase()}\n${standard.join("\n")}\n${
    msHeaders.join("")
  }${resource}`;
}

/**
 * Imports a storage account key (base64, as the portal and connection
 * strings give it) for {@link sharedKeyAuthorization}.
 *
 * @param accountKey The base64 account key.
 * @returns The HMAC-SHA256 key (not extractable).
 * @throws Error (without the key) when the key is not base64.
 *
 * @example
 * ```ts
 * import { AZURITE_ACCOUNT_KEY, importAccountKey } from "@sluice/azure";
 *
 * const key = await importAccountKey(AZURITE_ACCOUNT_KEY);
 * key.algorithm.name; // "HMAC"
 * ```
 */
export async function importAccountKey(accountKey: string): Promise<CryptoKey> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = Uint8Array.fromBase64(accountKey.trim());
  } catch {
    throw new Error("the storage account key is not base64 (copy key1 or key2 from the portal)");
  }
  if (bytes.length === 0) throw new Error("the storage account key is empty");
  return await crypto.subtle.importKey(
    "raw",
    bytes,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
}

/**
 * The `Authorization` value of a request signed with Shared Key:
 * `SharedKey <account>:<base64 HMAC-SHA256 of the string to sign>`.
 *
 * @param request The request's verb, URL and headers (with `x-ms-date`).
 * @param account The storage account name.
 * @param key The account key ({@link importAccountKey}).
 * @returns The header value.
 *
 * @example
 * ```ts
 * import { AZURITE_ACCOUNT_KEY, AZURITE_ACCOUNT_NAME, importAccountKey, sharedKeyAuthorization } from "@sluice/azure";
 *
 * const key = await importAccountKey(AZURITE_ACCOUNT_KEY);
 * const headers = new Headers({ "x-ms-date": new Date().toUTCString(), "x-ms-version": "2021-08-06" });
 * const url = "http://127.0.0.1:10000/devstoreaccount1/logs?restype=container";
 * const authorization = await sharedKeyAuthorization({ method: "PUT", url, headers }, AZURITE_ACCOUNT_NAME, key);
 * authorization.startsWith("SharedKey devstoreaccount1:"); // true
 * ```
 */
export async function sharedKeyAuthorization(
  request: SignedRequest,
  account: string,
  key: CryptoKey,
): Promise<string> {
  const signature = await crypto.subtle.sign(
    "HMAC",
    key,
    encoder.encode(sharedKeyStringToSign(request, account)),
  );
  return `SharedKey ${account}:${new Uint8Array(signature).toBase64()}`;
}
