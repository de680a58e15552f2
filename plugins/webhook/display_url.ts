/**
 * URLs as they may appear in messages.
 * @module
 */

/**
 * A URL safe to show in errors and logs: scheme, host, port and path only
 * (no user info, query string or fragment, which often carry tokens).
 *
 * @param url An absolute URL.
 * @returns The shown form, or `"<invalid url>"`.
 *
 * @example
 * ```ts
 * import { displayUrl } from "@sluice/webhook";
 * displayUrl("https://user:pw@hooks.example.com/in?token=abc"); // "https://hooks.example.com/in"
 * ```
 */
export function displayUrl(url: string | URL): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return "<invalid url>";
  }
}
