/* Mounting: the classic mount(2)/umount2(2) and the new fd-based API (fsopen, fsconfig, fsmount,
 * move_mount), which overlay needs for `lowerdir+` (one layer per call, no page-sized option string). */
#include "strata.h"
#include "sys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Room for the kernel's messages about one failure; each is a line like "e overlay: ...". */
#define LOG_SIZE 1024

/* Only an fs context fd carries a message queue; reading any other fd (a pipe, a file) a caller passed
 * by mistake would swallow its data. */
static bool is_fs_context(int fd) {
  char link[64], target[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  if (n < 0) return false;
  target[n] = '\0';
  return strcmp(target, "anon_inode:[fscontext]") == 0;
}

/* Drains the fs context's message queue into log ("overlay: ...; ..."); NULL when it is empty.
 * The filesystem says there what went wrong, while errno is usually just EINVAL. */
static const char *fs_log(int fd, char *log) {
  char line[LOG_SIZE];
  size_t used = 0;
  ssize_t n;
  log[0] = '\0';
  if (!is_fs_context(fd)) return NULL;
  while ((n = read(fd, line, sizeof line - 1)) > 0) {
    line[n] = '\0';
    if (n > 0 && line[n - 1] == '\n') line[n - 1] = '\0';
    /* Each message starts with its severity: "e " error, "w " warning, "i " info. */
    const char *text = (line[0] != '\0' && line[1] == ' ') ? line + 2 : line;
    int wrote = snprintf(log + used, LOG_SIZE - used, "%s%s", used ? "; " : "", text);
    if (wrote < 0 || (size_t)wrote >= LOG_SIZE - used) break;
    used += (size_t)wrote;
  }
  return used ? log : NULL;
}

/* mount(source, target, fstype, flags, data); an empty data string passes NULL. */
napi_value js_mount(napi_env env, napi_callback_info info) {
  call_t c;
  call_begin(&c, env, info);
  const char *source = arg_string(&c, 0, "source");
  const char *target = arg_string(&c, 1, "target");
  const char *fstype = arg_string(&c, 2, "fstype");
  uint32_t flags = arg_u32(&c, 3, "flags");
  const char *data = arg_string(&c, 4, "data");
  if (!c.failed && mount(source, target, fstype, flags, *data ? data : NULL) != 0)
    throw_errno(&c, errno, "mount", source, target, NULL);
  return call_end(&c, NULL);
}

/* umount2(target, flags) */
napi_value js_umount2(napi_env env, napi_callback_info info) {
  call_t c;
  call_begin(&c, env, info);
  const char *target = arg_string(&c, 0, "target");
  uint32_t flags = arg_u32(&c, 1, "flags");
  if (!c.failed && umount2(target, (int)flags) != 0) throw_errno(&c, errno, "umount2", target, NULL, NULL);
  return call_end(&c, NULL);
}

/* fsopen(fsname, flags) → fs context fd */
napi_value js_fsopen(napi_env env, napi_callback_info info) {
  call_t c;
  long fd = -1;
  call_begin(&c, env, info);
  const char *fsname = arg_string(&c, 0, "fsname");
  uint32_t flags = arg_u32(&c, 1, "flags");
  if (!c.failed && (fd = syscall(SYS_fsopen, fsname, flags)) < 0) throw_errno(&c, errno, "fsopen", fsname, NULL, NULL);
  return call_end(&c, make_int(&c, fd));
}

/* fsconfig(fd, cmd, key | null, value | null, aux); errors name "key=value" and carry the kernel's log. */
napi_value js_fsconfig(napi_env env, napi_callback_info info) {
  call_t c;
  char log[LOG_SIZE];
  call_begin(&c, env, info);
  int fd = arg_fd(&c, 0, "fd");
  uint32_t cmd = arg_u32(&c, 1, "cmd");
  const char *key = arg_string_or_null(&c, 2, "key");
  const char *value = arg_string_or_null(&c, 3, "value");
  int aux = arg_fd(&c, 4, "aux");
  if (!c.failed && syscall(SYS_fsconfig, fd, cmd, key, value, aux) != 0) {
    int err = errno;
    char *subject = NULL;
    if (key != NULL && asprintf(&subject, "%s%s%s", key, value ? "=" : "", value ? value : "") < 0) subject = NULL;
    throw_errno(&c, err, "fsconfig", subject, NULL, fs_log(fd, log));
    free(subject);
  }
  return call_end(&c, NULL);
}

/* fsmount(fd, flags, attrFlags) → mount fd */
napi_value js_fsmount(napi_env env, napi_callback_info info) {
  call_t c;
  long mfd = -1;
  char log[LOG_SIZE];
  call_begin(&c, env, info);
  int fd = arg_fd(&c, 0, "fd");
  uint32_t flags = arg_u32(&c, 1, "flags");
  uint32_t attr = arg_u32(&c, 2, "attrFlags");
  if (!c.failed && (mfd = syscall(SYS_fsmount, fd, flags, attr)) < 0) {
    int err = errno;
    throw_errno(&c, err, "fsmount", NULL, NULL, fs_log(fd, log));
  }
  return call_end(&c, make_int(&c, mfd));
}

/* moveMount(fromDfd, fromPath, toDfd, toPath, flags); with an empty fromPath the error names only toPath. */
napi_value js_move_mount(napi_env env, napi_callback_info info) {
  call_t c;
  call_begin(&c, env, info);
  int from_dfd = arg_fd(&c, 0, "fromDfd");
  const char *from = arg_string(&c, 1, "fromPath");
  int to_dfd = arg_fd(&c, 2, "toDfd");
  const char *to = arg_string(&c, 3, "toPath");
  uint32_t flags = arg_u32(&c, 4, "flags");
  if (!c.failed && syscall(SYS_move_mount, from_dfd, from, to_dfd, to, flags) != 0)
    throw_errno(&c, errno, "move_mount", *from ? from : to, *from ? to : NULL, NULL);
  return call_end(&c, NULL);
}
