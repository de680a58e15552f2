/**
 * `@sluice/azure`: the Azure credentials Sluice's Azure sinks
 * (`@sluice/azure-blob`, `@sluice/azure-sentinel`) share; not a sink
 * itself.
 *
 * - Shared Key authorization of Azure Storage requests
 *   ({@link sharedKeyAuthorization}: HMAC-SHA256 with the account key
 *   through WebCrypto, per Microsoft's published string to sign);
 * - storage connection strings ({@link parseConnectionString}:
 *   `AZURE_STORAGE_CONNECTION_STRING`, Azurite's documented one and
 *   `UseDevelopmentStorage=true`);
 * - Entra ID client credentials ({@link createEntraAuth}: tenant, client
 *   id and secret exchanged at `{authority}/{tenant}/oauth2/v2.0/token`,
 *   the token cached, requested once for concurrent callers, renewed
 *   before it expires and after a 401);
 * - Azure error answers read into short, credential-free phrases
 *   ({@link azureErrorText}).
 *
 * @example Sign a Put Blob request for Azurite
 * ```ts
 * import {
 *   importAccountKey,
 *   parseConnectionString,
 *   sharedKeyAuthorization,
 * } from "@sluice/azure";
 *
 * const conn = parseConnectionString("UseDevelopmentStorage=true");
 * const key = await importAccountKey(conn.accountKey!);
 * const headers = new Headers({
 *   "x-ms-date": new Date().toUTCString(),
 *   "x-ms-version": "2021-08-06",
 *   "x-ms-blob-type": "BlockBlob",
 *   "content-type": "application/json",
 *   "content-length": "2",
 * });
 * const url = `${conn.blobEndpoint}/llm-logs/2026-12-06/call.json`;
 * headers.set("authorization", await sharedKeyAuthorization({ method: "PUT", url, headers }, conn.accountName!, key));
 * // fetch(url, { method: "PUT", headers, body: "{}" }) writes the blob (Azurite checks the signature)
 * ```
 * @module
 */
export {
  importAccountKey,
  sharedKeyAuthorization,
  sharedKeyStringToSign,
  type SignedRequest,
} from "./shared_key.ts";
export {
  AZURITE_ACCOUNT_KEY,
  AZURITE_ACCOUNT_NAME,
  AZURITE_BLOB_ENDPOINT,
  DEFAULT_ENDPOINT_SUFFIX,
  parseConnectionString,
  type StorageConnectionString,
} from "./connection_string.ts";
export {
  createEntraAuth,
  ENTRA_AUTHORITY_HOST,
  ENTRA_REFRESH_MARGIN_MS,
  ENTRA_TOKEN_TIMEOUT_MS,
  type EntraAuth,
  type EntraAuthOptions,
  type EntraCredentials,
  entraErrorDetail,
  entraTokenUrl,
} from "./entra.ts";
export { type AzureErrorDetail, azureErrorText, parseAzureError } from "./errors.ts";
