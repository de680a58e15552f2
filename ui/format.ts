/**
 * Formatting for the console: times, durations, money, sizes.
 * @module
 */

/** `12:03:04.512` today, else `2026-12-06 12:03:04`. */
export function time(ms: number): string {
  const date = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  const clock = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  const today = new Date();
  if (date.toDateString() === today.toDateString()) {
    return `${clock}.${pad(date.getMilliseconds(), 3)}`;
  }
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${clock}`;
}

/** `843 ms`, `2.41 s`, `—` for none. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  // Sub-millisecond figures (the gateway's own overhead) keep their decimals.
  if (ms < 10) return `${ms.toFixed(ms < 1 ? 2 : 1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** `$0.000123`, `$1.24`, `—` for none. */
export function money(usd: number | null | undefined): string {
  if (usd === null || usd === undefined || !Number.isFinite(usd)) return "—";
  if (usd === 0) return "$0";
  if (usd < 0.01) {
    // Three significant digits, never in exponent form.
    const digits = Math.min(12, 2 - Math.floor(Math.log10(usd)));
    return `$${usd.toFixed(digits).replace(/0+$/, "")}`;
  }
  return `$${usd.toFixed(2)}`;
}

/** `1,234`. */
export function count(n: number | null | undefined): string {
  return n === null || n === undefined ? "—" : n.toLocaleString("en-US");
}

/** `12.3 KB`. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** `3 s ago`, `5 min ago`. */
export function ago(ms: number, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}
