/**
 * The azure-sentinel sink's `config:`: its zod schema, the JSON Schema the
 * gateway validates with, and the resolution of endpoint, rule, stream and
 * Entra ID credentials (config first, then LiteLLM's `AZURE_SENTINEL_*`
 * variables, then Azure's `AZURE_*`).
 * @module
 */
import { z } from "zod";
import type { JsonSchema } from "@sluice/core/plugin";
import { definePluginConfig, type SameShape } from "@sluice/core/plugin-config";
import { ENTRA_AUTHORITY_HOST, type EntraCredentials, entraTokenUrl } from "@sluice/azure";

/** Timeout of one upload when the config sets none. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** The Logs Ingestion API version the sink speaks. */
export const INGESTION_API_VERSION = "2023-01-01";

/**
 * The OAuth scope of the Logs Ingestion API, as Microsoft's
 * `@azure/monitor-ingestion` client asks for it (the REST tutorial's
 * `https://monitor.azure.com//.default` names the same resource).
 */
export const MONITOR_SCOPE = "https://monitor.azure.com/.default";

/** LiteLLM's default stream name. */
export const DEFAULT_STREAM_NAME = "Custom-LiteLLM";

/** Environment variables the plugin may read (its `permissions.env`). */
export const AZURE_SENTINEL_ENV_VARS: readonly string[] = [
  "AZURE_SENTINEL_ENDPOINT",
  "AZURE_SENTINEL_DCR_IMMUTABLE_ID",
  "AZURE_SENTINEL_STREAM_NAME",
  "AZURE_SENTINEL_TENANT_ID",
  "AZURE_SENTINEL_CLIENT_ID",
  "AZURE_SENTINEL_CLIENT_SECRET",
  "AZURE_SENTINEL_AUTHORITY_HOST",
  "AZURE_TENANT_ID",
  "AZURE_CLIENT_ID",
  "AZURE_CLIENT_SECRET",
  "AZURE_AUTHORITY_HOST",
];

const url = z.string().regex(/^https?:\/\/\S+$/, "an http:// or https:// URL");

const azureSentinelConfigZod = z.strictObject({
  endpoint_url: url
    .describe(
      "The DCR's logs ingestion endpoint or a data collection endpoint (default AZURE_SENTINEL_ENDPOINT).",
    )
    .optional(),
  dcr_immutable_id: z.string().regex(/^dcr-[0-9a-zA-Z]+$/, "dcr- followed by letters and digits")
    .describe("The data collection rule's immutable id (default AZURE_SENTINEL_DCR_IMMUTABLE_ID).")
    .optional(),
  stream_name: z.string().regex(/^Custom-[A-Za-z0-9_]+$/, "Custom-<name>")
    .describe("The DCR's input stream (default AZURE_SENTINEL_STREAM_NAME, else Custom-LiteLLM).")
    .optional(),
  format: z.enum(["table", "payload"])
    .default("table")
    .describe(
      "table: one flat record per call (the README's columns); payload: the log event as is (LiteLLM's standard logging payload).",
    ),
  tenant_id: z.string().min(1)
    .describe("Entra ID tenant (default AZURE_SENTINEL_TENANT_ID, else AZURE_TENANT_ID).")
    .optional(),
  client_id: z.string().min(1)
    .describe(
      "Entra ID application (client) id (default AZURE_SENTINEL_CLIENT_ID, else AZURE_CLIENT_ID).",
    )
    .optional(),
  client_secret: z.string().min(1)
    .describe(
      "Entra ID client secret (os.environ/NAME; default AZURE_SENTINEL_CLIENT_SECRET, else AZURE_CLIENT_SECRET).",
    )
    .optional(),
  authority_host: url
    .describe(
      "Entra ID authority (default AZURE_SENTINEL_AUTHORITY_HOST, AZURE_AUTHORITY_HOST, else https://login.microsoftonline.com).",
    )
    .optional(),
  timeout_ms: z.int()
    .positive()
    .default(DEFAULT_TIMEOUT_MS)
    .describe("Timeout of one upload in milliseconds."),
});

/** `config:` of an azure-sentinel sink entry (as written; defaults applied by {@link parseAzureSentinelConfig}). */
export interface AzureSentinelConfig {
  /** The logs ingestion endpoint (default `AZURE_SENTINEL_ENDPOINT`). */
  endpoint_url?: string;
  /** The data collection rule's immutable id (default `AZURE_SENTINEL_DCR_IMMUTABLE_ID`). */
  dcr_immutable_id?: string;
  /** The DCR's input stream (default `AZURE_SENTINEL_STREAM_NAME`, else `Custom-LiteLLM`). */
  stream_name?: string;
  /** `table` (default): one flat record per call; `payload`: the log event as is. */
  format?: "table" | "payload";
  /** Entra ID tenant (default `AZURE_SENTINEL_TENANT_ID`, else `AZURE_TENANT_ID`). */
  tenant_id?: string;
  /** Entra ID application (client) id (default `AZURE_SENTINEL_CLIENT_ID`, else `AZURE_CLIENT_ID`). */
  client_id?: string;
  /** Entra ID client secret (default `AZURE_SENTINEL_CLIENT_SECRET`, else `AZURE_CLIENT_SECRET`); never shown. */
  client_secret?: string;
  /** Entra ID authority (default `AZURE_SENTINEL_AUTHORITY_HOST`, `AZURE_AUTHORITY_HOST`, Azure's public cloud). */
  authority_host?: string;
  /** Timeout of one upload in milliseconds (default 30,000). */
  timeout_ms?: number;
}

// The interface is what the zod schema accepts (zod's types stay out of the public API).
true satisfies SameShape<z.input<typeof azureSentinelConfigZod>, AzureSentinelConfig>;
const azureSentinelConfig = definePluginConfig("azure-sentinel", azureSentinelConfigZod);

/** JSON Schema (draft-07) of {@link AzureSentinelConfig}: what the gateway validates `config:` with. */
export const azureSentinelConfigSchema: JsonSchema = azureSentinelConfig.jsonSchema;

/**
 * Parses and checks a config, with defaults filled in.
 *
 * @param input The sink entry's `config:`.
 * @returns The config.
 * @throws Error listing every problem, never a value.
 *
 * @example
 * ```ts
 * import { parseAzureSentinelConfig } from "@sluice/azure-sentinel";
 *
 * parseAzureSentinelConfig({}).format; // "table"
 * ```
 */
export function parseAzureSentinelConfig(input: unknown):
  & Required<Pick<AzureSentinelConfig, "format" | "timeout_ms">>
  & AzureSentinelConfig {
  return azureSentinelConfig.parse(input);
}

/** Where and as whom the sink sends. */
export interface AzureSentinelTarget {
  /** The upload URL: `<endpoint>/dataCollectionRules/<dcr>/streams/<stream>?api-version=2023-01-01`. */
  url: string;
  /** The endpoint as shown in messages. */
  shownEndpoint: string;
  /** The rule's immutable id. */
  dcr: string;
  /** The stream. */
  stream: string;
  /** The Entra ID credentials. */
  credentials: EntraCredentials;
}

/**
 * Resolves endpoint, rule, stream and credentials: the config's values,
 * else LiteLLM's `AZURE_SENTINEL_*` variables, else Azure's `AZURE_TENANT_ID`
 * / `AZURE_CLIENT_ID` / `AZURE_CLIENT_SECRET` / `AZURE_AUTHORITY_HOST` (as
 * LiteLLM falls back to them).
 *
 * @param config A parsed config.
 * @param env Reads an environment variable (the plugin context's `env`).
 * @returns The target.
 * @throws Error naming each missing setting (never a value).
 *
 * @example
 * ```ts
 * import { resolveAzureSentinelTarget } from "@sluice/azure-sentinel";
 *
 * const vars: Record<string, string> = {
 *   AZURE_SENTINEL_ENDPOINT: "https://my-dcr-abcd.eastus-1.ingest.monitor.azure.com",
 *   AZURE_SENTINEL_DCR_IMMUTABLE_ID: "dcr-0123456789abcdef0123456789abcdef",
 *   AZURE_SENTINEL_STREAM_NAME: "Custom-LiteLLM_CL",
 *   AZURE_SENTINEL_TENANT_ID: "contoso.onmicrosoft.com",
 *   AZURE_SENTINEL_CLIENT_ID: "11111111-2222-3333-4444-555555555555",
 *   AZURE_SENTINEL_CLIENT_SECRET: "example-secret",
 * };
 * resolveAzureSentinelTarget({}, (name) => vars[name]).url;
 * // "https://my-dcr-abcd.eastus-1.ingest.monitor.azure.com/dataCollectionRules/dcr-0123…/streams/Custom-LiteLLM_CL?api-version=2023-01-01"
 * ```
 */
export function resolveAzureSentinelTarget(
  config: AzureSentinelConfig,
  env: (name: string) => string | undefined,
): AzureSentinelTarget {
  const read = (...names: string[]) => {
    for (const name of names) {
      const value = env(name)?.trim();
      if (value) return { value, name };
    }
    return undefined;
  };
  const pick = (given: string | undefined, key: string, ...names: string[]) =>
    given !== undefined ? { value: given, name: key } : read(...names);
  const endpoint = pick(config.endpoint_url, "endpoint_url", "AZURE_SENTINEL_ENDPOINT");
  const dcr = pick(config.dcr_immutable_id, "dcr_immutable_id", "AZURE_SENTINEL_DCR_IMMUTABLE_ID");
  const stream = pick(config.stream_name, "stream_name", "AZURE_SENTINEL_STREAM_NAME") ??
    { value: DEFAULT_STREAM_NAME, name: "the default" };
  const tenant = pick(config.tenant_id, "tenant_id", "AZURE_SENTINEL_TENANT_ID", "AZURE_TENANT_ID");
  const client = pick(config.client_id, "client_id", "AZURE_SENTINEL_CLIENT_ID", "AZURE_CLIENT_ID");
  const secret = pick(
    config.client_secret,
    "client_secret",
    "AZURE_SENTINEL_CLIENT_SECRET",
    "AZURE_CLIENT_SECRET",
  );
  const authority = pick(
    config.authority_host,
    "authority_host",
    "AZURE_SENTINEL_AUTHORITY_HOST",
    "AZURE_AUTHORITY_HOST",
  ) ?? { value: ENTRA_AUTHORITY_HOST, name: "the default" };
  const missing = [
    !endpoint && "AZURE_SENTINEL_ENDPOINT (or endpoint_url)",
    !dcr && "AZURE_SENTINEL_DCR_IMMUTABLE_ID (or dcr_immutable_id)",
    !tenant && "AZURE_SENTINEL_TENANT_ID (or tenant_id)",
    !client && "AZURE_SENTINEL_CLIENT_ID (or client_id)",
    !secret && "AZURE_SENTINEL_CLIENT_SECRET (or client_secret)",
  ].filter(Boolean);
  if (missing.length > 0) throw new Error(`azure-sentinel: set ${missing.join(", ")}`);
  let base: URL;
  try {
    base = new URL(endpoint!.value);
  } catch {
    throw new Error(`azure-sentinel: ${endpoint!.name} is not a valid URL`);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") {
    throw new Error(`azure-sentinel: ${endpoint!.name} must use https`);
  }
  if (!/^dcr-[0-9a-zA-Z]+$/.test(dcr!.value)) {
    throw new Error(`azure-sentinel: ${dcr!.name} must look like dcr-<32 hex digits>`);
  }
  if (!/^Custom-[A-Za-z0-9_]+$/.test(stream.value)) {
    throw new Error(`azure-sentinel: ${stream.name} must look like Custom-<table>`);
  }
  try {
    entraTokenUrl(tenant!.value, authority.value);
  } catch (error) {
    throw new Error(`azure-sentinel: ${authority.name}: ${(error as Error).message}`);
  }
  const path = base.pathname.replace(/\/+$/, "");
  const shownEndpoint = `${base.origin}${path}`;
  return {
    url: `${shownEndpoint}/dataCollectionRules/${encodeURIComponent(dcr!.value)}/streams/${
      encodeURIComponent(stream.value)
    }?api-version=${INGESTION_API_VERSION}`,
    shownEndpoint,
    dcr: dcr!.value,
    stream: stream.value,
    credentials: {
      tenantId: tenant!.value,
      clientId: client!.value,
      clientSecret: secret!.value,
      authorityHost: authority.value,
      from: [tenant!.name, client!.name, secret!.name].join(", "),
    },
  };
}
