/**
 * Typed errors with stable codes, tested like Go's errors.Is: `is(err, ErrNotSupported)`
 * sees through any chain of `cause` wrapping, so callers never match on message text.
 */

/** Base class: every strata error carries a stable, machine-readable code. */
export class StrataError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

type ErrorClass = abstract new (...args: never[]) => StrataError;

function defineError(code: string, defaultMessage: string) {
  return class extends StrataError {
    static readonly code = code;
    constructor(message: string = defaultMessage, options?: { cause?: unknown }) {
      super(code, message, options);
    }
  };
}

/** The driver cannot work on this host (missing kernel feature, no privileges). */
export const ErrNotSupported = defineError('ERR_NOT_SUPPORTED', 'driver not supported');
export type ErrNotSupported = InstanceType<typeof ErrNotSupported>;
/** The driver's prerequisites are not met (wrong filesystem, missing helper). */
export const ErrPrerequisites = defineError(
  'ERR_PREREQUISITES',
  'prerequisites for driver not satisfied (wrong filesystem?)',
);
export type ErrPrerequisites = InstanceType<typeof ErrPrerequisites>;
/** The backing filesystem cannot hold this driver's layers. */
export const ErrIncompatibleFS = defineError(
  'ERR_INCOMPATIBLE_FS',
  'backing file system is unsupported for this graph driver',
);
export type ErrIncompatibleFS = InstanceType<typeof ErrIncompatibleFS>;
/** A layer ID the driver does not know. */
export const ErrLayerUnknown = defineError('ERR_LAYER_UNKNOWN', 'unknown layer');
export type ErrLayerUnknown = InstanceType<typeof ErrLayerUnknown>;
/** A driver name registered twice. */
export const ErrDuplicateDriver = defineError('ERR_DUPLICATE_DRIVER', 'name already registered');
export type ErrDuplicateDriver = InstanceType<typeof ErrDuplicateDriver>;
/** Several prior driver homes exist and none was chosen explicitly. */
export const ErrSeveralDrivers = defineError('ERR_SEVERAL_DRIVERS', 'several valid graphdrivers');
export type ErrSeveralDrivers = InstanceType<typeof ErrSeveralDrivers>;
/** No registered driver could initialise. */
export const ErrNoBackend = defineError('ERR_NO_BACKEND', 'no supported storage backend found');
export type ErrNoBackend = InstanceType<typeof ErrNoBackend>;
/** An option key or value the component does not accept. */
export const ErrInvalidOption = defineError('ERR_INVALID_OPTION', 'invalid option');
export type ErrInvalidOption = InstanceType<typeof ErrInvalidOption>;
/** A layer, image or container ID or name that already exists. */
export const ErrDuplicateID = defineError('ERR_DUPLICATE_ID', 'that ID is already in use');
export type ErrDuplicateID = InstanceType<typeof ErrDuplicateID>;
/** A layer archive that cannot be applied safely. */
export const ErrInvalidArchive = defineError('ERR_INVALID_ARCHIVE', 'invalid layer archive');
export type ErrInvalidArchive = InstanceType<typeof ErrInvalidArchive>;
/** The native addon is missing or failed to load. */
export const ErrNativeUnavailable = defineError('ERR_NATIVE_UNAVAILABLE', 'native addon not built');
export type ErrNativeUnavailable = InstanceType<typeof ErrNativeUnavailable>;

/** All classes whose errors mean "try the next driver" in newDriver. */
export const notSupportedErrors: readonly ErrorClass[] = [ErrNotSupported, ErrPrerequisites, ErrIncompatibleFS];

/**
 * Reports whether `err`, or any error in its `cause` chain (and AggregateError members),
 * is an instance of `cls` or carries its code.
 */
export function is(err: unknown, cls: ErrorClass & { code?: string }): boolean {
  const seen = new Set<unknown>();
  const stack: unknown[] = [err];
  while (stack.length > 0) {
    const e = stack.pop();
    if (e === undefined || e === null || seen.has(e)) continue;
    seen.add(e);
    if (e instanceof cls) return true;
    if (typeof e === 'object') {
      const rec = e as { code?: unknown; cause?: unknown; errors?: unknown };
      if (cls.code !== undefined && rec.code === cls.code) return true;
      stack.push(rec.cause);
      if (Array.isArray(rec.errors)) stack.push(...rec.errors);
    }
  }
  return false;
}

/** Reports whether err is one of the errors that make newDriver try the next candidate. */
export function isDriverNotSupported(err: unknown): boolean {
  return notSupportedErrors.some((cls) => is(err, cls));
}

/** Wraps `cause` with context, keeping it reachable for `is`. */
export function wrap(cause: unknown, message: string): Error {
  const inner = cause instanceof Error ? cause.message : String(cause);
  return new Error(`${message}: ${inner}`, { cause });
}

/** Node system errors (ENOENT, EEXIST…) by code. */
export function hasCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
