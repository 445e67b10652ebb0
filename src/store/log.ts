/** Debug and warning lines on stderr, as logrus prints them for containers/storage (`-D`). */

let debugEnabled = process.env.STRATA_DEBUG !== undefined && process.env.STRATA_DEBUG !== '';

export function setDebug(on: boolean): void {
  debugEnabled = on;
}

export function isDebug(): boolean {
  return debugEnabled;
}

export function debug(msg: string): void {
  if (debugEnabled) process.stderr.write(`DEBU[0000] ${msg}\n`);
}

/** Something was repaired or skipped; shown only with -D, as logrus warnings at the CLI's error level. */
export function warn(msg: string): void {
  if (debugEnabled) process.stderr.write(`WARN[0000] ${msg}\n`);
}
