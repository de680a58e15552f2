/**
 * The part of a chat stream chunk the translated routes read: the first
 * choice's delta and finish reason (their APIs have no `n`).
 * @module
 */

type Obj = Record<string, unknown>;

const isObj = (value: unknown): value is Obj =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * The delta and finish reason of choice 0 of a chunk, or undefined when the
 * chunk carries none (a usage chunk, say).
 *
 * @example
 * ```ts
 * import { firstChoice } from "./first_choice.ts";
 *
 * firstChoice({ choices: [{ index: 0, delta: { content: "Hi" }, finish_reason: null }] });
 * // { delta: { content: "Hi" }, finishReason: undefined }
 * firstChoice({ choices: [], usage: { prompt_tokens: 3 } }); // undefined
 * ```
 */
export function firstChoice(
  chunk: Obj,
): { delta: Obj; finishReason?: string } | undefined {
  const choice = Array.isArray(chunk.choices)
    ? chunk.choices.find((c) => isObj(c) && (c.index ?? 0) === 0)
    : undefined;
  if (!isObj(choice)) return undefined;
  return {
    delta: isObj(choice.delta) ? choice.delta : {},
    finishReason: typeof choice.finish_reason === "string" ? choice.finish_reason : undefined,
  };
}
