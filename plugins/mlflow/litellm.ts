/**
 * LiteLLM's `mlflow` callback as an mlflow sink: the tracking server, the
 * experiment and the credentials come from MLflow's own variables
 * (`MLFLOW_TRACKING_URI`, `MLFLOW_EXPERIMENT_ID` / `MLFLOW_EXPERIMENT_NAME`,
 * `MLFLOW_TRACKING_TOKEN`, `MLFLOW_TRACKING_USERNAME` /
 * `MLFLOW_TRACKING_PASSWORD`), which the plugin reads itself, so the
 * mapping adds nothing.
 * @module
 */
import type { LiteLLMMapping } from "@sluice/core/plugin";
import type { MlflowConfig } from "./config.ts";

/**
 * The mlflow plugin's LiteLLM mapping.
 *
 * @example
 * ```ts
 * import { mlflowLiteLLM } from "@sluice/mlflow";
 * mlflowLiteLLM.callbacks; // ["mlflow"]
 * ```
 */
export const mlflowLiteLLM: LiteLLMMapping<MlflowConfig> = {
  callbacks: ["mlflow"],
  toSink: () => ({ config: {} }),
};
