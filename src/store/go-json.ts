/**
 * JSON and text as Go's encoding/json and fmt write them, so files and `--json` output match
 * containers/storage byte for byte where it matters: HTML-safe escapes, RFC 3339 times with
 * trailing zeros trimmed, and strconv.Quote for `%q`.
 */

/** JSON.stringify plus the escapes Go's encoder adds; those characters only occur inside strings. */
export function goJSON(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => {
    return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
}

/** The text json.NewEncoder(os.Stdout).Encode(v) prints: one line with a newline. */
export function goJSONLine(value: unknown): string {
  return `${goJSON(value)}\n`;
}

/** Go's time.Time JSON form (RFC 3339 with nanoseconds, zeros trimmed) for `date`, in UTC. */
export function goTime(date: Date = new Date(), extraNanos = 0): string {
  const iso = date.toISOString(); // 2024-01-02T03:04:05.678Z
  const base = iso.slice(0, 19);
  const nanos = date.getUTCMilliseconds() * 1_000_000 + extraNanos;
  if (nanos === 0) return `${base}Z`;
  return `${base}.${String(nanos).padStart(9, '0').replace(/0+$/, '')}Z`;
}

/** Wall-clock nanoseconds at load, advanced by the monotonic clock: precise and never going back. */
const wallAtLoad = BigInt(Date.now()) * 1_000_000n;
const monoAtLoad = process.hrtime.bigint();

/** Now, with nanoseconds, as Go's time.Now() writes it. */
export function nowTime(): string {
  const ns = wallAtLoad + (process.hrtime.bigint() - monoAtLoad);
  const ms = ns / 1_000_000n;
  return goTime(new Date(Number(ms)), Number(ns % 1_000_000n));
}

/** The zero time.Time, which Go writes for records that never had a creation time. */
export const zeroTime = '0001-01-01T00:00:00Z';

/** strconv.Quote: a double-quoted Go string literal, as fmt's %q prints a string. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    switch (ch) {
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\ufffd'; // a lone surrogate has no UTF-8 form
    else if (!isPrintable(cp)) out += cp > 0xffff ? `\\U${cp.toString(16).padStart(8, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** A close approximation of unicode.IsPrint: letters, marks, numbers, punctuation, symbols and ASCII space. */
function isPrintable(cp: number): boolean {
  if (cp === 0x20) return true;
  return /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(String.fromCodePoint(cp));
}

/** fmt's %v of a []string or []int: `[a b c]`. */
export function goList(values: readonly (string | number)[]): string {
  return `[${values.join(' ')}]`;
}
