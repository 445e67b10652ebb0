/* Argument parsing and Node-style errors for every exported function. */
#include "strata.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Marks the call failed; throws a generic error unless N-API already left an exception pending. */
static void fail_napi(call_t *c) {
  bool pending = false;
  c->failed = true;
  if (napi_is_exception_pending(c->env, &pending) == napi_ok && pending) return;
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(c->env, &info);
  napi_throw_error(c->env, NULL, info && info->error_message ? info->error_message : "N-API call failed");
}

#define NAPI_CHECK(c, expr) \
  do {                      \
    if ((expr) != napi_ok) { \
      fail_napi(c);         \
      return;               \
    }                       \
  } while (0)

void call_begin(call_t *c, napi_env env, napi_callback_info info) {
  size_t argc = MAX_ARGS;
  memset(c, 0, sizeof *c);
  c->env = env;
  /* Missing arguments come back as undefined, so the type checks report them. */
  if (napi_get_cb_info(env, info, &argc, c->argv, NULL, NULL) != napi_ok) fail_napi(c);
}

napi_value call_end(call_t *c, napi_value result) {
  for (size_t i = 0; i < c->nstrings; i++) free(c->strings[i]);
  c->nstrings = 0;
  return c->failed ? NULL : result;
}

static void throw_arg(call_t *c, bool range, const char *name, const char *expected) {
  char msg[200];
  snprintf(msg, sizeof msg, "The \"%s\" argument must be %s", name, expected);
  if (range) napi_throw_range_error(c->env, "ERR_OUT_OF_RANGE", msg);
  else napi_throw_type_error(c->env, "ERR_INVALID_ARG_TYPE", msg);
  c->failed = true;
}

static bool has_type(call_t *c, size_t i, napi_valuetype want) {
  napi_valuetype type;
  return napi_typeof(c->env, c->argv[i], &type) == napi_ok && type == want;
}

const char *arg_string(call_t *c, size_t i, const char *name) {
  size_t len = 0;
  char *s;
  if (c->failed) return "";
  if (!has_type(c, i, napi_string)) {
    throw_arg(c, false, name, "of type string");
    return "";
  }
  if (napi_get_value_string_utf8(c->env, c->argv[i], NULL, 0, &len) != napi_ok) {
    fail_napi(c);
    return "";
  }
  s = malloc(len + 1);
  if (s == NULL) {
    napi_throw_error(c->env, "ENOMEM", "out of memory copying a string argument");
    c->failed = true;
    return "";
  }
  c->strings[c->nstrings++] = s;
  if (napi_get_value_string_utf8(c->env, c->argv[i], s, len + 1, &len) != napi_ok) {
    fail_napi(c);
    return "";
  }
  /* C would silently cut the path at an embedded NUL; Node's fs refuses such strings too. */
  if (strlen(s) != len) {
    throw_arg(c, false, name, "a string without null bytes");
    return "";
  }
  return s;
}

const char *arg_string_or_null(call_t *c, size_t i, const char *name) {
  if (c->failed) return NULL;
  if (has_type(c, i, napi_null)) return NULL;
  if (!has_type(c, i, napi_string)) {
    throw_arg(c, false, name, "of type string or null");
    return NULL;
  }
  return arg_string(c, i, name);
}

int64_t arg_integer(call_t *c, size_t i, const char *name, int64_t min, int64_t max) {
  double value = 0;
  char expected[96];
  if (c->failed) return 0;
  if (!has_type(c, i, napi_number)) {
    throw_arg(c, false, name, "of type number");
    return 0;
  }
  if (napi_get_value_double(c->env, c->argv[i], &value) != napi_ok) {
    fail_napi(c);
    return 0;
  }
  if (!isfinite(value) || trunc(value) != value || value < (double)min || value > (double)max) {
    snprintf(expected, sizeof expected, "an integer >= %lld and <= %lld", (long long)min, (long long)max);
    throw_arg(c, true, name, expected);
    return 0;
  }
  return (int64_t)value;
}

const void *arg_buffer(call_t *c, size_t i, const char *name, size_t *len) {
  bool is_buffer = false;
  void *data = NULL;
  *len = 0;
  if (c->failed) return NULL;
  if (napi_is_buffer(c->env, c->argv[i], &is_buffer) != napi_ok || !is_buffer) {
    throw_arg(c, false, name, "a Buffer");
    return NULL;
  }
  if (napi_get_buffer_info(c->env, c->argv[i], &data, len) != napi_ok) fail_napi(c);
  return data;
}

bool call_ok(call_t *c, napi_status status) {
  if (status != napi_ok) fail_napi(c);
  return status == napi_ok;
}

napi_value make_int(call_t *c, int64_t value) {
  napi_value result = NULL;
  if (!c->failed) call_ok(c, napi_create_int64(c->env, value, &result));
  return result;
}

/* libuv's names for errno values, so `code` matches what Node's own fs calls report (on Linux
 * EOPNOTSUPP is ENOTSUP, and libuv calls it ENOTSUP). */
static const struct {
  int num;
  const char *name;
} errno_names[] = {
    {EPERM, "EPERM"},       {ENOENT, "ENOENT"},       {ESRCH, "ESRCH"},         {EINTR, "EINTR"},
    {EIO, "EIO"},           {ENXIO, "ENXIO"},         {E2BIG, "E2BIG"},         {EBADF, "EBADF"},
    {EAGAIN, "EAGAIN"},     {ENOMEM, "ENOMEM"},       {EACCES, "EACCES"},       {EFAULT, "EFAULT"},
    {ENOTBLK, "ENOTBLK"},   {EBUSY, "EBUSY"},         {EEXIST, "EEXIST"},       {EXDEV, "EXDEV"},
    {ENODEV, "ENODEV"},     {ENOTDIR, "ENOTDIR"},     {EISDIR, "EISDIR"},       {EINVAL, "EINVAL"},
    {ENFILE, "ENFILE"},     {EMFILE, "EMFILE"},       {ENOTTY, "ENOTTY"},       {ETXTBSY, "ETXTBSY"},
    {EFBIG, "EFBIG"},       {ENOSPC, "ENOSPC"},       {ESPIPE, "ESPIPE"},       {EROFS, "EROFS"},
    {EMLINK, "EMLINK"},     {EPIPE, "EPIPE"},         {ERANGE, "ERANGE"},       {ENAMETOOLONG, "ENAMETOOLONG"},
    {ENOSYS, "ENOSYS"},     {ENOTEMPTY, "ENOTEMPTY"}, {ELOOP, "ELOOP"},         {ENODATA, "ENODATA"},
    {ENOTSUP, "ENOTSUP"},   {EOVERFLOW, "EOVERFLOW"}, {EDQUOT, "EDQUOT"},       {ESTALE, "ESTALE"},
    {EMSGSIZE, "EMSGSIZE"}, {EUCLEAN, "EUCLEAN"},
};

static const char *errno_name(int err, char *buf, size_t size) {
  for (size_t i = 0; i < sizeof errno_names / sizeof errno_names[0]; i++)
    if (errno_names[i].num == err) return errno_names[i].name;
  snprintf(buf, size, "E%d", err);
  return buf;
}

static bool set_string(napi_env env, napi_value obj, const char *key, const char *value) {
  napi_value v;
  return napi_create_string_utf8(env, value, NAPI_AUTO_LENGTH, &v) == napi_ok &&
         napi_set_named_property(env, obj, key, v) == napi_ok;
}

/* Node's messages read "no such file or directory"; glibc capitalises the first word. */
static void describe(int err, char *buf, size_t size) {
  char scratch[128];
  snprintf(buf, size, "%s", strerror_r(err, scratch, sizeof scratch));
  buf[0] = (char)tolower((unsigned char)buf[0]);
}

void throw_errno(call_t *c, int err, const char *syscall, const char *path, const char *dest, const char *detail) {
  char namebuf[16], desc[128];
  const char *code = errno_name(err, namebuf, sizeof namebuf);
  char *msg = NULL;
  size_t msglen = 0;
  napi_value code_v, msg_v, errno_v, error;
  FILE *f;
  napi_status status;

  if (c->failed) return;
  describe(err, desc, sizeof desc);
  f = open_memstream(&msg, &msglen);
  if (f != NULL) {
    fprintf(f, "%s: %s, %s", code, desc, syscall);
    if (path != NULL) fprintf(f, " '%s'", path);
    if (dest != NULL) fprintf(f, " -> '%s'", dest);
    if (detail != NULL) fprintf(f, " (%s)", detail);
    fclose(f);
  }
  status = napi_create_string_utf8(c->env, msg ? msg : code, NAPI_AUTO_LENGTH, &msg_v);
  free(msg);
  NAPI_CHECK(c, status);
  NAPI_CHECK(c, napi_create_string_utf8(c->env, code, NAPI_AUTO_LENGTH, &code_v));
  NAPI_CHECK(c, napi_create_error(c->env, code_v, msg_v, &error));
  NAPI_CHECK(c, napi_create_int32(c->env, -err, &errno_v));
  NAPI_CHECK(c, napi_set_named_property(c->env, error, "errno", errno_v));
  if (!set_string(c->env, error, "syscall", syscall) || (path && !set_string(c->env, error, "path", path)) ||
      (dest && !set_string(c->env, error, "dest", dest))) {
    fail_napi(c);
    return;
  }
  napi_throw(c->env, error);
  c->failed = true;
}
