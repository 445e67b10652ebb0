/**
 * The store's error classes. Each message starts with the thing it is about and ends with the
 * sentence containers/storage uses for the same case, so scripts grepping for Go's text still match.
 */
import { StrataError } from '../errors.js';

function storeError(code: string, sentence: string) {
  return class extends StrataError {
    static readonly code = code;
    /** The sentence containers/storage prints for this error, without any context. */
    static readonly sentence = sentence;
    constructor(context?: string, options?: { cause?: unknown }) {
      super(code, context === undefined || context === '' ? sentence : `${context}: ${sentence}`, options);
    }
  };
}

export const ErrImageUnknown = storeError('ERR_IMAGE_UNKNOWN', 'image not known');
export const ErrContainerUnknown = storeError('ERR_CONTAINER_UNKNOWN', 'container not known');
export const ErrStoreLayerUnknown = storeError('ERR_LAYER_UNKNOWN', 'layer not known');
export const ErrParentUnknown = storeError('ERR_PARENT_UNKNOWN', 'parent of layer not known');
export const ErrDuplicateName = storeError('ERR_DUPLICATE_NAME', 'that name is already in use');
export const ErrStoreDuplicateID = storeError('ERR_DUPLICATE_ID', 'that ID is already in use');
export const ErrLayerHasChildren = storeError('ERR_LAYER_HAS_CHILDREN', 'layer has children');
export const ErrLayerUsedByImage = storeError('ERR_LAYER_USED_BY_IMAGE', 'layer is in use by an image');
export const ErrLayerUsedByContainer = storeError(
  'ERR_LAYER_USED_BY_CONTAINER',
  'layer is in use by a container',
);
export const ErrImageUsedByContainer = storeError(
  'ERR_IMAGE_USED_BY_CONTAINER',
  'image is in use by a container',
);
export const ErrParentIsContainer = storeError(
  'ERR_PARENT_IS_CONTAINER',
  'would-be parent layer is a container',
);
export const ErrLayerNotMounted = storeError('ERR_LAYER_NOT_MOUNTED', 'layer is not mounted');
export const ErrNotAnID = storeError('ERR_NOT_AN_ID', 'identifier is not a layer, image, or container');
export const ErrNotALayer = storeError('ERR_NOT_A_LAYER', 'identifier is not a layer');
export const ErrNotAnImage = storeError('ERR_NOT_AN_IMAGE', 'identifier is not an image');
export const ErrNotAContainer = storeError('ERR_NOT_A_CONTAINER', 'identifier is not a container');
export const ErrInvalidBigDataName = storeError(
  'ERR_INVALID_BIG_DATA_NAME',
  'not a valid name for a big data item',
);
export const ErrBigDataUnknown = storeError('ERR_BIG_DATA_UNKNOWN', 'file does not exist');
export const ErrSizeUnknown = storeError('ERR_SIZE_UNKNOWN', 'size is not known');
export const ErrDigestUnknown = storeError('ERR_DIGEST_UNKNOWN', 'could not compute digest of item');
export const ErrInvalidDigest = storeError('ERR_INVALID_DIGEST', 'invalid digest');
export const ErrIncompleteOptions = storeError('ERR_INCOMPLETE_OPTIONS', 'missing necessary StoreOptions');
export const ErrStoreLocked = storeError('ERR_STORE_LOCKED', 'the store is locked by another process');
export const ErrCorruptStore = storeError('ERR_CORRUPT_STORE', 'store metadata is not valid');
export const ErrInvalidMappings = storeError('ERR_INVALID_MAPPINGS', 'invalid mappings specified');
export const ErrCompressionUnsupported = storeError(
  'ERR_COMPRESSION_UNSUPPORTED',
  'compression format not supported',
);
