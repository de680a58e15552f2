/**
 * How deep JSON text nests, measured on the raw text in one pass without
 * recursion, so a body of any depth costs one linear scan and never the
 * stack. Brackets inside strings (escapes included) do not count.
 * @module
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;
const COLON = 0x3a;

/** The index of the quote that closes the string opened at `open`, or -1 if it never closes. */
function stringEnd(text: string, open: number): number {
  let from = open + 1;
  for (;;) {
    const quote = text.indexOf('"', from);
    if (quote < 0) return -1;
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
    from = quote + 1;
  }
}

/** What one scan of JSON text found. */
export interface JsonShape {
  /** It nests arrays and objects deeper than the limit. */
  tooDeep: boolean;
  /** The outermost object names one key twice (parsers disagree on which one wins). */
  duplicateTopLevelKey: boolean;
}

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);

/**
 * One linear pass over JSON text: whether it nests deeper than `max` levels
 * (the outermost object or array is level 1), and whether the outermost
 * object repeats a key. Malformed text is measured as far as it goes;
 * `JSON.parse` reports what is wrong with it.
 */
export function scanJson(text: string, max: number): JsonShape {
  let depth = 0;
  const keys = new Set<string>();
  let duplicateTopLevelKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (end < 0) break;
      if (depth === 1 && !duplicateTopLevelKey) {
        let next = end + 1;
        while (WHITESPACE.has(text.charCodeAt(next))) next++;
        if (text.charCodeAt(next) === COLON) {
          const key = text.slice(i + 1, end);
          if (keys.has(key)) duplicateTopLevelKey = true;
          keys.add(key);
        }
      }
      i = end;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return { tooDeep: true, duplicateTopLevelKey };
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    }
  }
  return { tooDeep: false, duplicateTopLevelKey };
}

/**
 * Whether JSON text nests arrays and objects deeper than `max` levels (the
 * outermost object or array is level 1).
 */
export function exceedsJsonDepth(text: string, max: number): boolean {
  return scanJson(text, max).tooDeep;
}
