/*
 * Shared pieces of strata's addon: one call's arguments (parsed with sticky failure, so a
 * function reads all its arguments and checks once) and Node-style system errors.
 */
#ifndef STRATA_H
#define STRATA_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>

#define MAX_ARGS 6

/* One JS call: its arguments, the C strings copied out of them, and whether an exception is pending. */
typedef struct {
  napi_env env;
  napi_value argv[MAX_ARGS];
  char *strings[MAX_ARGS];
  size_t nstrings;
  bool failed;
} call_t;

void call_begin(call_t *c, napi_env env, napi_callback_info info);
/* Frees the call's strings and returns result (NULL means undefined, or the pending exception). */
napi_value call_end(call_t *c, napi_value result);

/* Argument readers: on a wrong type they throw a TypeError naming the argument and mark the call failed;
 * once failed, every reader returns a harmless dummy, so callers check c->failed once. */
const char *arg_string(call_t *c, size_t i, const char *name);
const char *arg_string_or_null(call_t *c, size_t i, const char *name);
int64_t arg_integer(call_t *c, size_t i, const char *name, int64_t min, int64_t max);
const void *arg_buffer(call_t *c, size_t i, const char *name, size_t *len);
#define arg_u32(c, i, name) ((uint32_t)arg_integer((c), (i), (name), 0, UINT32_MAX))
#define arg_fd(c, i, name) ((int)arg_integer((c), (i), (name), INT32_MIN, INT32_MAX))

/* True when status is napi_ok; otherwise marks the call failed with N-API's own error. */
bool call_ok(call_t *c, napi_status status);
napi_value make_int(call_t *c, int64_t value);

/* Throws like Node's fs: `CODE: description, syscall 'path' -> 'dest' (detail)` with code, negative errno,
 * syscall, path and dest properties. path, dest and detail may be NULL. */
void throw_errno(call_t *c, int err, const char *syscall, const char *path, const char *dest, const char *detail);

/* The exported functions, one per syscall (files.c, xattr.c, mount.c), listDir (dirstat.c) and warmDir (warm.c). */
napi_value js_mknod(napi_env env, napi_callback_info info);
napi_value js_renameat2(napi_env env, napi_callback_info info);
napi_value js_utimensat(napi_env env, napi_callback_info info);
napi_value js_close(napi_env env, napi_callback_info info);
napi_value js_lgetxattr(napi_env env, napi_callback_info info);
napi_value js_lsetxattr(napi_env env, napi_callback_info info);
napi_value js_llistxattr(napi_env env, napi_callback_info info);
napi_value js_lremovexattr(napi_env env, napi_callback_info info);
napi_value js_mount(napi_env env, napi_callback_info info);
napi_value js_umount2(napi_env env, napi_callback_info info);
napi_value js_fsopen(napi_env env, napi_callback_info info);
napi_value js_fsconfig(napi_env env, napi_callback_info info);
napi_value js_fsmount(napi_env env, napi_callback_info info);
napi_value js_move_mount(napi_env env, napi_callback_info info);
napi_value js_list_dir(napi_env env, napi_callback_info info);
napi_value js_warm_dir(napi_env env, napi_callback_info info);

#endif
