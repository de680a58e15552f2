/**
 * Azure Storage connection strings (`AZURE_STORAGE_CONNECTION_STRING`):
 * `Key=value;` pairs naming the account, its key or a SAS token, and the
 * endpoints, as Microsoft's "Configure Azure Storage connection strings"
 * documents them, with `UseDevelopmentStorage=true` for the Azurite
 * emulator's well-known account.
 * @module
 */

/** The Azurite emulator's well-known account name (documented by Microsoft). */
export const AZURITE_ACCOUNT_NAME = "devstoreaccount1";

/** The Azurite emulator's well-known account key (public; documented by Microsoft). */
export const AZURITE_ACCOUNT_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/** Azurite's Blob endpoint for the well-known account (`UseDevelopmentStorage=true`). */
export const AZURITE_BLOB_ENDPOINT = "http://127.0.0.1:10000/devstoreaccount1";

/** The DNS suffix of Azure's public cloud storage endpoints. */
export const DEFAULT_ENDPOINT_SUFFIX = "core.windows.net";

/** What a storage connection string says (each part only when it is there). */
export interface StorageConnectionString {
  /** `AccountName`. */
  accountName?: string;
  /** `AccountKey` (base64): a secret. */
  accountKey?: string;
  /** `SharedAccessSignature` (the SAS query string, without `?`): a secret. */
  sharedAccessSignature?: string;
  /** `BlobEndpoint`, else one built from the protocol, account and suffix. */
  blobEndpoint?: string;
  /** `DefaultEndpointsProtocol` (default `https`). */
  protocol: "http" | "https";
  /** `EndpointSuffix` (default `core.windows.net`). */
  endpointSuffix: string;
}

/**
 * Parses a storage connection string. Keys are matched without regard to
 * case; unknown keys (`QueueEndpoint`, `TableEndpoint`, …) are ignored.
 * `UseDevelopmentStorage=true` stands for Azurite's well-known account
 * on `http://127.0.0.1:10000`.
 *
 * @param text The connection string.
 * @returns Its parts.
 * @throws Error naming the problem, never quoting the string (it holds a key).
 *
 * @example Azurite's documented connection string
 * ```ts
 * import { parseConnectionString } from "@sluice/azure";
 *
 * const parsed = parseConnectionString(
 *   "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
 *     "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
 *     "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
 * );
 * parsed.accountName; // "devstoreaccount1"
 * parsed.blobEndpoint; // "http://127.0.0.1:10000/devstoreaccount1"
 * ```
 *
 * @example An account in Azure
 * ```ts
 * import { parseConnectionString } from "@sluice/azure";
 *
 * const parsed = parseConnectionString(
 *   "DefaultEndpointsProtocol=https;AccountName=mylogs;AccountKey=a2V5;EndpointSuffix=core.windows.net",
 * );
 * parsed.blobEndpoint; // "https://mylogs.blob.core.windows.net"
 * ```
 */
export function parseConnectionString(text: string): StorageConnectionString {
  const parts = new Map<string, string>();
  for (const pair of text.split(";")) {
    if (pair.trim() === "") continue;
    const at = pair.indexOf("=");
    if (at <= 0) {
      throw new Error("the connection string is not a list of Key=value pairs separated by ';'");
    }
    parts.set(pair.slice(0, at).trim().toLowerCase(), pair.slice(at + 1).trim());
  }
  if (parts.get("usedevelopmentstorage")?.toLowerCase() === "true") {
    const proxy = parts.get("developmentstorageproxyuri");
    let blobEndpoint = AZURITE_BLOB_ENDPOINT;
    if (proxy) {
      const base = new URL(proxy);
      blobEndpoint = `${base.protocol}//${base.hostname}:10000/${AZURITE_ACCOUNT_NAME}`;
    }
    return {
      accountName: AZURITE_ACCOUNT_NAME,
      accountKey: AZURITE_ACCOUNT_KEY,
      blobEndpoint,
      protocol: "http",
      endpointSuffix: DEFAULT_ENDPOINT_SUFFIX,
    };
  }
  const protocolText = (parts.get("defaultendpointsprotocol") ?? "https").toLowerCase();
  if (protocolText !== "http" && protocolText !== "https") {
    throw new Error("DefaultEndpointsProtocol in the connection string must be http or https");
  }
  const protocol = protocolText;
  const endpointSuffix = parts.get("endpointsuffix") || DEFAULT_ENDPOINT_SUFFIX;
  const accountName = parts.get("accountname") || undefined;
  const accountKey = parts.get("accountkey") || undefined;
  const sas = parts.get("sharedaccesssignature")?.replace(/^\?/, "") || undefined;
  let blobEndpoint = parts.get("blobendpoint") || undefined;
  if (!blobEndpoint && accountName) {
    blobEndpoint = `${protocol}://${accountName}.blob.${endpointSuffix}`;
  }
  if (!blobEndpoint) {
    throw new Error("the connection string names neither AccountName nor BlobEndpoint");
  }
  if (!accountKey && !sas) {
    throw new Error("the connection string has neither AccountKey nor SharedAccessSignature");
  }
  return {
    ...(accountName ? { accountName } : {}),
    ...(accountKey ? { accountKey } : {}),
    ...(sas ? { sharedAccessSignature: sas } : {}),
    blobEndpoint,
    protocol,
    endpointSuffix,
  };
}
