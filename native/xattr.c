/* Extended attributes without following symlinks: overlay keeps its metadata in trusted.overlay.* on
 * the entries themselves, including symlinks. */
#include "strata.h"
#include "sys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Most values (overlay's "y", small ACLs) fit here, sparing the size probe. */
#define STACK_SIZE 256
/* A value that keeps growing between probe and read is being rewritten in a loop; give up eventually. */
#define MAX_TRIES 8

/* One read: a value when name is set, else the NUL-separated name list. */
typedef struct {
  const char *path;
  const char *name;
} xattr_req;

static ssize_t xattr_read(const xattr_req *r, char *buf, size_t size) {
  return r->name ? lgetxattr(r->path, r->name, buf, size) : llistxattr(r->path, buf, size);
}

/* Reads the whole value into *out (stack, or a heap buffer the caller frees when it differs from stack).
 * On ERANGE the value grew since the last look: probe its size and read again. */
static ssize_t xattr_read_all(const xattr_req *r, char *stack, char **out) {
  ssize_t n = xattr_read(r, stack, STACK_SIZE);
  *out = stack;
  for (int tries = 0; n < 0 && errno == ERANGE && tries < MAX_TRIES; tries++) {
    ssize_t size = xattr_read(r, NULL, 0);
    if (size < 0) return -1;
    char *heap = realloc(*out == stack ? NULL : *out, size > 0 ? (size_t)size : 1);
    if (heap == NULL) {
      errno = ENOMEM;
      return -1;
    }
    *out = heap;
    n = xattr_read(r, heap, (size_t)size);
  }
  return n;
}

static void release(char *buf, char *stack) {
  if (buf != stack) free(buf);
}

/* lgetxattr(path, name) → Buffer */
napi_value js_lgetxattr(napi_env env, napi_callback_info info) {
  call_t c;
  char stack[STACK_SIZE], *buf = stack;
  napi_value result = NULL;
  call_begin(&c, env, info);
  xattr_req r = {arg_string(&c, 0, "path"), arg_string(&c, 1, "name")};
  if (c.failed) return call_end(&c, NULL);
  ssize_t n = xattr_read_all(&r, stack, &buf);
  if (n < 0) throw_errno(&c, errno, "lgetxattr", r.path, NULL, NULL);
  else call_ok(&c, napi_create_buffer_copy(env, (size_t)n, buf, NULL, &result));
  release(buf, stack);
  return call_end(&c, result);
}

/* llistxattr(path) → string[] */
napi_value js_llistxattr(napi_env env, napi_callback_info info) {
  call_t c;
  char stack[STACK_SIZE], *buf = stack;
  napi_value result = NULL, name;
  uint32_t index = 0;
  call_begin(&c, env, info);
  xattr_req r = {arg_string(&c, 0, "path"), NULL};
  if (c.failed) return call_end(&c, NULL);
  ssize_t n = xattr_read_all(&r, stack, &buf);
  if (n < 0) throw_errno(&c, errno, "llistxattr", r.path, NULL, NULL);
  else call_ok(&c, napi_create_array(env, &result));
  /* The kernel returns "name1\0name2\0…". */
  for (char *p = buf, *end = buf + (n > 0 ? n : 0); !c.failed && p < end;) {
    size_t len = strnlen(p, (size_t)(end - p));
    if (call_ok(&c, napi_create_string_utf8(env, p, len, &name)))
      call_ok(&c, napi_set_element(env, result, index++, name));
    p += len + 1;
  }
  release(buf, stack);
  return call_end(&c, result);
}

/* lsetxattr(path, name, value: Buffer, flags: XATTR_CREATE | XATTR_REPLACE | 0) */
napi_value js_lsetxattr(napi_env env, napi_callback_info info) {
  call_t c;
  size_t len;
  call_begin(&c, env, info);
  const char *path = arg_string(&c, 0, "path");
  const char *name = arg_string(&c, 1, "name");
  const void *value = arg_buffer(&c, 2, "value", &len);
  uint32_t flags = arg_u32(&c, 3, "flags");
  if (!c.failed && lsetxattr(path, name, value, len, (int)flags) != 0)
    throw_errno(&c, errno, "lsetxattr", path, NULL, NULL);
  return call_end(&c, NULL);
}

/* lremovexattr(path, name) */
napi_value js_lremovexattr(napi_env env, napi_callback_info info) {
  call_t c;
  call_begin(&c, env, info);
  const char *path = arg_string(&c, 0, "path");
  const char *name = arg_string(&c, 1, "name");
  if (!c.failed && lremovexattr(path, name) != 0) throw_errno(&c, errno, "lremovexattr", path, NULL, NULL);
  return call_end(&c, NULL);
}
