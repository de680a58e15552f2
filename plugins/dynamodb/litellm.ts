/**
 * LiteLLM's `dynamodb` callback as a dynamodb sink: `dynamodb_table_name`
 * becomes the table; credentials and region come from the `AWS_*`
 * variables LiteLLM's docs name (`AWS_REGION_NAME` included).
 * @module
 */
import type { LiteLLMMapping } from "@sluice/core/plugin";
import type { DynamodbConfig } from "./config.ts";

/**
 * The dynamodb plugin's LiteLLM mapping (`success_callback: ["dynamodb"]`).
 *
 * @example
 * ```ts
 * import { dynamodbLiteLLM } from "@sluice/dynamodb";
 * const entry = dynamodbLiteLLM.toSink!({
 *   callback: "dynamodb",
 *   name: "dynamodb",
 *   path: "litellm_settings.success_callback[0]",
 *   callbackSettings: {},
 *   litellmSettings: { dynamodb_table_name: "your-table-name" },
 *   env: () => undefined,
 * });
 * if (entry.config?.table_name !== "your-table-name") throw new Error("unexpected");
 * ```
 */
export const dynamodbLiteLLM: LiteLLMMapping<DynamodbConfig> = {
  callbacks: ["dynamodb"],
  settings: ["dynamodb_table_name"],
  toSink({ litellmSettings }) {
    const table = litellmSettings.dynamodb_table_name;
    if (typeof table !== "string" || table === "") {
      return {
        problems: [{
          path: "litellm_settings.dynamodb_table_name",
          severity: "error",
          message: "the dynamodb callback needs a table: set litellm_settings.dynamodb_table_name",
        }],
      };
    }
    return { config: { table_name: table } };
  },
};
