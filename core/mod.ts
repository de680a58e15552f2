/**
 * Sluice core: an OpenAI-compatible LLM gateway with one standard log event
 * per call.
 *
 * @example
 * ```ts
 * import { createGateway } from "@sluice/core";
 * const gw = await createGateway({ models: [{ name: "mock-gpt", provider: "mock" }] });
 * const res = await gw.fetch(new Request("http://localhost/v1/chat/completions", {
 *   method: "POST",
 *   headers: { "content-type": "application/json" },
 *   body: JSON.stringify({ model: "mock-gpt", messages: [{ role: "user", content: "hi" }] }),
 * }));
 * console.log((await res.json()).choices[0].message.content);
 * await gw.close();
 * ```
 * @module
 */
export { createGateway, type Gateway } from "./server/gateway.ts";
export {
  checkConfig,
  checkConfigFile,
  type ConfigCheck,
  ConfigError,
  type ConfigProblem,
  formatProblem,
  loadConfig,
  parseConfig,
  type ParseConfigOptions,
} from "./config/load.ts";
export { configJsonSchema } from "./config/schema.ts";
export type {
  ControlsConfig,
  DetectorName,
  GatewayConfig,
  GatewayConfigInput,
  KeyConfig,
  LoadedFacts,
  LogConfig,
  LogTransportConfig,
  Loose,
  MessagesPolicy,
  ModelConfig,
  PluginSourceConfig,
  ProviderKind,
  QueueConfig,
  RedactionConfig,
  RedactionOverride,
  ServerConfig,
  SinkConfig,
  SinkEventKind,
  TeamConfig,
  UiConfig,
} from "./config/types.ts";
export { EMBEDDED_DEFAULT_CONFIG } from "./config/default.ts";
export type {
  CallType,
  LogEvent,
  LogEventCostBreakdown,
  LogEventError,
  LogEventMetadata,
} from "./event/log_event.ts";
export { GatewayError, type OpenAIErrorType } from "./errors.ts";
export { VERSION } from "./version.ts";
