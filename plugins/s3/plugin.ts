/**
 * The s3 plugin definition.
 * @module
 */
import type { PluginDefinition } from "@sluice/core/plugin";
import { httpPermissions } from "@sluice/core/sink-http";
import denoJson from "./deno.json" with { type: "json" };
import {
  parseS3Config,
  resolveS3Target,
  S3_ENV_VARS,
  type S3Config,
  s3ConfigSchema,
} from "./config.ts";
import { createS3Sink } from "./s3_sink.ts";
import { s3LiteLLM } from "./litellm.ts";

/**
 * The s3 plugin (LiteLLM's `s3` / `s3_v2` callback): one object per event,
 * or one NDJSON object per batch, in an S3 bucket or an S3-compatible store
 * (MinIO, Cloudflare R2, Backblaze B2, GCS through its XML API). It may read
 * the standard `AWS_*` variables (`permissions.env`); it asks for the
 * endpoint's host (the bucket's own host name with virtual-hosted addressing).
 *
 * @example gateway.yaml
 * ```yaml
 * sinks:
 *   - use: s3
 *     queue: { batch_size: 100, flush_interval_ms: 5000 }
 *     redaction: { drop_non_text_parts: true }
 *     config:
 *       bucket: my-llm-logs
 *       region: eu-west-1
 *       path: gateway/prod
 *       use_team_prefix: true
 * ```
 */
const s3Plugin: PluginDefinition<S3Config> = {
  name: "s3",
  version: denoJson.version,
  apiVersion: 1,
  configSchema: s3ConfigSchema,
  // The endpoint's host (the bucket's own host name with virtual-hosted addressing).
  permissions: (config, env) =>
    httpPermissions(() => {
      const target = resolveS3Target(parseS3Config(config), env);
      const url = new URL(target.endpoint);
      if (!target.pathStyle) url.hostname = `${target.bucket}.${url.hostname}`;
      return [url];
    }, S3_ENV_VARS),
  litellm: s3LiteLLM,
  create: (config, ctx) => createS3Sink(config, ctx),
};

export default s3Plugin;
