import denoJson from "./deno.json" with { type: "json" };

/** The gateway's version, read from `core/deno.json`. */
export const VERSION: string = denoJson.version;
