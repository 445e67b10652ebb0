/** The error code (`ENOENT`, `EXDEV`, …) a synchronous call throws, or undefined when it succeeds. */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}
