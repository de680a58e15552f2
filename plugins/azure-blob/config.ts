/**
 * The azure-blob sink's `config:`: its zod schema, the JSON Schema the
 * gateway validates with, and the resolution of endpoint, account and
 * credentials (config first, then the `AZURE_STORAGE_*` variables LiteLLM
 * and Azure's tools use).
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";
import { definePluginConfig, type SameShape } from "@sluice/core/plugin-config";
import {
  DEFAULT_ENDPOINT_SUFFIX,
  ENTRA_AUTHORITY_HOST,
  entraTokenUrl,
  parseConnectionString,
  type StorageConnectionString,
} from "@sluice/azure";

/** Timeout of one upload when the config sets none. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** The Blob service REST version the sink speaks (`x-ms-version`). */
export const BLOB_API_VERSION = "2023-11-03";

/** The OAuth scope of Azure Storage (Entra ID tokens). */
export const STORAGE_SCOPE = "https://storage.azure.com/.default";

/** Environment variables the plugin may read (its `permissions.env`). */
export const AZURE_BLOB_ENV_VARS: readonly string[] = [
  "AZURE_STORAGE_ACCOUNT_NAME",
  "AZURE_STORAGE_ACCOUNT_KEY",
  "AZURE_STORAGE_TENANT_ID",
  "AZURE_STORAGE_CLIENT_ID",
  "AZURE_STORAGE_CLIENT_SECRET",
  "AZURE_STORAGE_CONNECTION_STRING",
  "AZURE_STORAGE_BLOB_ENDPOINT",
  "AZURE_STORAGE_ENDPOINT_SUFFIX",
  "AZURE_AUTHORITY_HOST",
];

const url = z.string().regex(/^https?:\/\/\S+$/, "an http:// or https:// URL");

const azureBlobConfigZod = z.strictObject({
  container: z.string()
    .regex(
      /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/,
      "3 to 63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit",
    )
    .describe("The container the blobs are written to (LiteLLM's AZURE_STORAGE_FILE_SYSTEM)."),
  path: z.string()
    .max(512)
    .describe("A blob name prefix, e.g. logs/prod (no leading or trailing slash needed).")
    .optional(),
  use_team_prefix: z.boolean()
    .default(false)
    .describe("Put the key's team in the blob name (after path)."),
  use_key_prefix: z.boolean()
    .default(false)
    .describe("Put the key's alias in the blob name (after the team)."),
  format: z.enum(["json", "ndjson"])
    .default("json")
    .describe("json: one blob per event; ndjson: one blob per batch, one event a line."),
  account_name: z.string().regex(/^[a-z0-9]{3,24}$/, "3 to 24 lowercase letters and digits")
    .describe("The storage account (default: AZURE_STORAGE_ACCOUNT_NAME, the connection string's).")
    .optional(),
  endpoint_url: url
    .describe(
      "The Blob endpoint (a private endpoint or Azurite, e.g. http://127.0.0.1:10000/devstoreaccount1); " +
        "default: AZURE_STORAGE_BLOB_ENDPOINT, the connection string's, else https://<account>.blob.core.windows.net.",
    )
    .optional(),
  account_key: z.string().min(1)
    .describe("The account key (Shared Key; os.environ/NAME; default AZURE_STORAGE_ACCOUNT_KEY).")
    .optional(),
  connection_string: z.string().min(1)
    .describe(
      "A storage connection string (os.environ/NAME; default AZURE_STORAGE_CONNECTION_STRING).",
    )
    .optional(),
  tenant_id: z.string().min(1)
    .describe("Entra ID tenant of the app (default AZURE_STORAGE_TENANT_ID).")
    .optional(),
  client_id: z.string().min(1)
    .describe("Entra ID application (client) id (default AZURE_STORAGE_CLIENT_ID).")
    .optional(),
  client_secret: z.string().min(1)
    .describe("Entra ID client secret (os.environ/NAME; default AZURE_STORAGE_CLIENT_SECRET).")
    .optional(),
  authority_host: url
    .describe(
      "Entra ID authority (default AZURE_AUTHORITY_HOST, else https://login.microsoftonline.com).",
    )
    .optional(),
  timeout_ms: z.int()
    .positive()
    .default(DEFAULT_TIMEOUT_MS)
    .describe("Timeout of one upload in milliseconds."),
}).superRefine((config, issues) => {
  for (const segment of (config.path ?? "").split("/")) {
    if (segment === "." || segment === "..") {
      issues.addIssue({
        code: "custom",
        path: ["path"],
        message: `path may not contain a "${segment}" segment`,
      });
    }
  }
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(config.path ?? "")) {
    issues.addIssue({
      code: "custom",
      path: ["path"],
      message: "path may not contain control characters or backslashes",
    });
  }
  const entra = [config.tenant_id, config.client_id, config.client_secret];
  if (entra.some((v) => v !== undefined) && entra.some((v) => v === undefined)) {
    issues.addIssue({
      code: "custom",
      path: ["client_secret"],
      message: "Entra ID needs tenant_id, client_id and client_secret together",
    });
  }
  const ways = [config.account_key, config.connection_string, config.client_secret]
    .filter((v) => v !== undefined).length;
  if (ways > 1) {
    issues.addIssue({
      code: "custom",
      path: ["account_key"],
      message: "set one of account_key, connection_string or the Entra ID client credentials",
    });
  }
});

/** `config:` of an azure-blob sink entry (as written; defaults applied by {@link parseAzureBlobConfig}). */
export interface AzureBlobConfig {
  /** The container the blobs are written to. */
  container: string;
  /** A blob name prefix, e.g. `logs/prod`. */
  path?: string;
  /** Put the key's team in the blob name (default false). */
  use_team_prefix?: boolean;
  /** Put the key's alias in the blob name (default false). */
  use_key_prefix?: boolean;
  /** `json` (default): one blob per event; `ndjson`: one blob per batch. */
  format?: "json" | "ndjson";
  /** The storage account (default `AZURE_STORAGE_ACCOUNT_NAME`, the connection string's). */
  account_name?: string;
  /** The Blob endpoint (default `AZURE_STORAGE_BLOB_ENDPOINT`, the connection string's, Azure's). */
  endpoint_url?: string;
  /** The account key for Shared Key (default `AZURE_STORAGE_ACCOUNT_KEY`); never shown. */
  account_key?: string;
  /** A storage connection string (default `AZURE_STORAGE_CONNECTION_STRING`); never shown. */
  connection_string?: string;
  /** Entra ID tenant (default `AZURE_STORAGE_TENANT_ID`). */
  tenant_id?: string;
  /** Entra ID application (client) id (default `AZURE_STORAGE_CLIENT_ID`). */
  client_id?: string;
  /** Entra ID client secret (default `AZURE_STORAGE_CLIENT_SECRET`); never shown. */
  client_secret?: string;
  /** Entra ID authority (default `AZURE_AUTHORITY_HOST`, else `https://login.microsoftonline.com`). */
  authority_host?: string;
  /** Timeout of one upload in milliseconds (default 30,000). */
  timeout_ms?: number;
}

// The interface is what the zod schema accepts (zod's types stay out of the public API).
true satisfies SameShape<z.input<typeof azureBlobConfigZod>, AzureBlobConfig>;
const azureBlobConfig = definePluginConfig("azure-blob", azureBlobConfigZod);

/** JSON Schema (draft-07) of {@link AzureBlobConfig}: what the gateway validates `config:` with. */
export const azureBlobConfigSchema: JsonSchema = azureBlobConfig.jsonSchema;

/**
 * Parses and checks a config, with defaults filled in.
 *
 * @param input The sink entry's `config:`.
 * @returns The config.
 * @throws Error listing every problem (`azure-blob: invalid config: config.container: …`), never a value.
 *
 * @example
 * ```ts
 * import { parseAzureBlobConfig } from "@sluice/azure-blob";
 *
 * parseAzureBlobConfig({ container: "llm-logs" }).format; // "json"
 * ```
 */
export function parseAzureBlobConfig(input: unknown):
  & Required<Pick<AzureBlobConfig, "use_team_prefix" | "use_key_prefix" | "format" | "timeout_ms">>
  & AzureBlobConfig {
  return azureBlobConfig.parse(input);
}

/** How the sink's requests are authorized. */
export type BlobCredentials =
  /** Shared Key with the account key. */
  | { kind: "shared-key"; accountKey: string; from: string }
  /** A SAS token (the query string) from a connection string. */
  | { kind: "sas"; token: string; from: string }
  /** Entra ID client credentials. */
  | {
    kind: "entra";
    tenantId: string;
    clientId: string;
    clientSecret: string;
    authorityHost: string;
    from: string;
  };

/** Where and as whom the sink writes. */
export interface AzureBlobTarget {
  /** The container. */
  container: string;
  /** The storage account (for Shared Key and messages), if known. */
  account?: string;
  /** The Blob endpoint (the account's URL; a path, as Azurite's, prefixes every blob path). */
  endpoint: URL;
  /** The endpoint as shown in messages. */
  shownEndpoint: string;
  /** The credentials. */
  credentials: BlobCredentials;
}

const nonEmpty = (value: string | undefined) => {
  const text = value?.trim();
  return text ? text : undefined;
};

/** The account named by a Blob endpoint: `<account>.blob.…` or Azurite's first path segment. */
function accountOf(endpoint: URL): string | undefined {
  const host = /^([a-z0-9]{3,24})\.blob\./.exec(endpoint.hostname)?.[1];
  if (host) return host;
  return /^\/([a-z0-9]{3,24})(\/|$)/.exec(endpoint.pathname)?.[1];
}

/**
 * Resolves endpoint, account and credentials. Credentials: the config's
 * `account_key`, Entra ID client credentials or `connection_string`, else
 * `AZURE_STORAGE_ACCOUNT_KEY`, then `AZURE_STORAGE_TENANT_ID` /
 * `AZURE_STORAGE_CLIENT_ID` / `AZURE_STORAGE_CLIENT_SECRET`, then
 * `AZURE_STORAGE_CONNECTION_STRING`. Endpoint: `endpoint_url`,
 * `AZURE_STORAGE_BLOB_ENDPOINT`, the connection string's, else
 * `https://<account>.blob.<AZURE_STORAGE_ENDPOINT_SUFFIX or core.windows.net>`.
 *
 * @param config A parsed config.
 * @param env Reads an environment variable (the plugin context's `env`).
 * @returns The target.
 * @throws Error naming the missing setting (never a value).
 *
 * @example LiteLLM's variables
 * ```ts
 * import { resolveAzureBlobTarget } from "@sluice/azure-blob";
 *
 * const vars: Record<string, string> = {
 *   AZURE_STORAGE_ACCOUNT_NAME: "litellm2",
 *   AZURE_STORAGE_ACCOUNT_KEY: "a2V5",
 * };
 * const target = resolveAzureBlobTarget({ container: "litellm-logs" }, (name) => vars[name]);
 * target.shownEndpoint; // "https://litellm2.blob.core.windows.net"
 * target.credentials.kind; // "shared-key"
 * ```
 *
 * @example Azurite's connection string
 * ```ts
 * import { resolveAzureBlobTarget } from "@sluice/azure-blob";
 *
 * const target = resolveAzureBlobTarget(
 *   { container: "llm-logs", connection_string: "UseDevelopmentStorage=true" },
 *   () => undefined,
 * );
 * target.shownEndpoint; // "http://127.0.0.1:10000/devstoreaccount1"
 * target.account; // "devstoreaccount1"
 * ```
 */
export function resolveAzureBlobTarget(
  config: AzureBlobConfig,
  env: (name: string) => string | undefined,
): AzureBlobTarget {
  const read = (name: string) => nonEmpty(env(name));
  const fail = (message: string): never => {
    throw new Error(`azure-blob: ${message}`);
  };
  const authorityHost = config.authority_host ?? read("AZURE_AUTHORITY_HOST") ??
    ENTRA_AUTHORITY_HOST;

  let credentials: BlobCredentials | undefined;
  let conn: StorageConnectionString | undefined;
  const fromConnection = (text: string, from: string) => {
    try {
      conn = parseConnectionString(text);
    } catch (error) {
      fail(`${from}: ${(error as Error).message}`);
    }
    credentials = conn!.accountKey
      ? { kind: "shared-key", accountKey: conn!.accountKey, from }
      : { kind: "sas", token: conn!.sharedAccessSignature!, from };
  };
  const entra = (tenantId: string, clientId: string, clientSecret: string, from: string) => ({
    kind: "entra" as const,
    tenantId,
    clientId,
    clientSecret,
    authorityHost,
    from,
  });

  if (config.account_key) {
    credentials = { kind: "shared-key", accountKey: config.account_key, from: "account_key" };
  } else if (config.client_secret && config.tenant_id && config.client_id) {
    credentials = entra(
      config.tenant_id,
      config.client_id,
      config.client_secret,
      "tenant_id, client_id and client_secret",
    );
  } else if (config.connection_string) {
    fromConnection(config.connection_string, "connection_string");
  } else if (read("AZURE_STORAGE_ACCOUNT_KEY")) {
    credentials = {
      kind: "shared-key",
      accountKey: read("AZURE_STORAGE_ACCOUNT_KEY")!,
      from: "AZURE_STORAGE_ACCOUNT_KEY",
    };
  } else if (read("AZURE_STORAGE_CLIENT_SECRET")) {
    const tenant = read("AZURE_STORAGE_TENANT_ID");
    const client = read("AZURE_STORAGE_CLIENT_ID");
    if (!tenant || !client) {
      fail(
        "AZURE_STORAGE_CLIENT_SECRET is set without " +
          (!tenant ? "AZURE_STORAGE_TENANT_ID" : "AZURE_STORAGE_CLIENT_ID") +
          ": Entra ID needs the tenant, client id and secret",
      );
    }
    credentials = entra(
      tenant!,
      client!,
      read("AZURE_STORAGE_CLIENT_SECRET")!,
      "AZURE_STORAGE_TENANT_ID, AZURE_STORAGE_CLIENT_ID and AZURE_STORAGE_CLIENT_SECRET",
    );
  } else if (read("AZURE_STORAGE_CONNECTION_STRING")) {
    fromConnection(read("AZURE_STORAGE_CONNECTION_STRING")!, "AZURE_STORAGE_CONNECTION_STRING");
  }
  if (!credentials) {
    return fail(
      "no credentials: set AZURE_STORAGE_ACCOUNT_KEY (Shared Key), AZURE_STORAGE_TENANT_ID + " +
        "AZURE_STORAGE_CLIENT_ID + AZURE_STORAGE_CLIENT_SECRET (Entra ID) or " +
        "AZURE_STORAGE_CONNECTION_STRING, or account_key / tenant_id, client_id, client_secret / " +
        "connection_string in the sink's config",
    );
  }

  let account = config.account_name ?? read("AZURE_STORAGE_ACCOUNT_NAME") ??
    (conn as StorageConnectionString | undefined)?.accountName;
  const suffix = read("AZURE_STORAGE_ENDPOINT_SUFFIX") ??
    (conn as StorageConnectionString | undefined)?.endpointSuffix ?? DEFAULT_ENDPOINT_SUFFIX;
  const endpointFrom = config.endpoint_url
    ? "endpoint_url"
    : read("AZURE_STORAGE_BLOB_ENDPOINT")
    ? "AZURE_STORAGE_BLOB_ENDPOINT"
    : (conn as StorageConnectionString | undefined)?.blobEndpoint
    ? credentials.from
    : undefined;
  const configured = config.endpoint_url ?? read("AZURE_STORAGE_BLOB_ENDPOINT") ??
    (conn as StorageConnectionString | undefined)?.blobEndpoint ??
    (account ? `https://${account}.blob.${suffix}` : undefined);
  if (!configured) {
    return fail(
      "no storage account: set AZURE_STORAGE_ACCOUNT_NAME (or account_name), " +
        "AZURE_STORAGE_BLOB_ENDPOINT (or endpoint_url) or AZURE_STORAGE_CONNECTION_STRING",
    );
  }
  let endpoint: URL;
  try {
    endpoint = new URL(configured);
  } catch {
    return fail(`${endpointFrom ?? "the Blob endpoint"} is not a valid URL`);
  }
  if (endpoint.protocol !== "http:" && endpoint.protocol !== "https:") {
    return fail(`${endpointFrom ?? "the Blob endpoint"} must use http or https`);
  }
  endpoint.search = "";
  endpoint.hash = "";
  endpoint.username = "";
  endpoint.password = "";
  account ??= accountOf(endpoint);
  if (credentials.kind === "shared-key" && !account) {
    return fail(
      "Shared Key needs the storage account's name: set AZURE_STORAGE_ACCOUNT_NAME or account_name",
    );
  }
  if (credentials.kind === "entra") {
    try {
      entraTokenUrl(credentials.tenantId, credentials.authorityHost);
    } catch (error) {
      return fail(`authority_host / AZURE_AUTHORITY_HOST: ${(error as Error).message}`);
    }
  }
  return {
    container: config.container,
    ...(account ? { account } : {}),
    endpoint,
    shownEndpoint: `${endpoint.origin}${endpoint.pathname.replace(/\/+$/, "")}`,
    credentials,
  };
}
