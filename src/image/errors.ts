/**
 * Errors of image import and export. Each message names the archive member (or record) at fault,
 * so a broken `docker save` output or OCI layout can be fixed without guessing.
 */
import { StrataError } from '../errors.js';

function imageError(code: string, sentence: string) {
  return class extends StrataError {
    static readonly code = code;
    constructor(context?: string, options?: { cause?: unknown }) {
      super(code, context === undefined || context === '' ? sentence : `${context}: ${sentence}`, options);
    }
  };
}

/** manifest.json, index.json, a manifest or a config that is not what the format says. */
export const ErrImageFormat = imageError('ERR_IMAGE_FORMAT', 'invalid image archive');
/** A blob or file the archive's manifest refers to is not in the archive. */
export const ErrBlobUnknown = imageError('ERR_BLOB_UNKNOWN', 'blob not found in the image archive');
/** A blob, layer or config whose content does not match the digest recorded for it. */
export const ErrDigestMismatch = imageError('ERR_DIGEST_MISMATCH', 'digest mismatch');
