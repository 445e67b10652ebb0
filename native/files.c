/* File syscalls Node lacks: device nodes, renameat2 flags, nanosecond timestamps on symlinks. */
#include "strata.h"
#include "sys.h"

#include <errno.h>
#include <sys/sysmacros.h>
#include <time.h>

/* Seconds travel as JS numbers, exact up to 2^53. */
#define MAX_SAFE_INTEGER 9007199254740991LL
/* Nanoseconds are 0..999999999 or one of UTIME_NOW / UTIME_OMIT, both just below 2^30. */
#define MAX_NSEC ((1LL << 30) - 1)

/* mknod(path, mode, major, minor): mode carries the type bits (S_IFCHR, S_IFBLK, S_IFIFO). */
napi_value js_mknod(napi_env env, napi_callback_info info) {
  call_t c;
  call_begin(&c, env, info);
  const char *path = arg_string(&c, 0, "path");
  uint32_t mode = arg_u32(&c, 1, "mode");
  uint32_t major = arg_u32(&c, 2, "major");
  uint32_t minor = arg_u32(&c, 3, "minor");
  if (!c.failed && mknod(path, mode, makedev(major, minor)) != 0) throw_errno(&c, errno, "mknod", path, NULL, NULL);
  return call_end(&c, NULL);
}

/* renameat2(oldPath, newPath, flags) relative to the cwd; called through syscall() because glibc
 * only gained a wrapper in 2.28. */
napi_value js_renameat2(napi_env env, napi_callback_info info) {
  call_t c;
  call_begin(&c, env, info);
  const char *from = arg_string(&c, 0, "oldPath");
  const char *to = arg_string(&c, 1, "newPath");
  uint32_t flags = arg_u32(&c, 2, "flags");
  if (!c.failed && syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, flags) != 0)
    throw_errno(&c, errno, "renameat2", from, to, NULL);
  return call_end(&c, NULL);
}

/* utimensat(path, atimeSec, atimeNsec, mtimeSec, mtimeNsec, flags) relative to the cwd. */
napi_value js_utimensat(napi_env env, napi_callback_info info) {
  call_t c;
  call_begin(&c, env, info);
  const char *path = arg_string(&c, 0, "path");
  struct timespec times[2];
  times[0].tv_sec = (time_t)arg_integer(&c, 1, "atimeSec", -MAX_SAFE_INTEGER, MAX_SAFE_INTEGER);
  times[0].tv_nsec = (long)arg_integer(&c, 2, "atimeNsec", 0, MAX_NSEC);
  times[1].tv_sec = (time_t)arg_integer(&c, 3, "mtimeSec", -MAX_SAFE_INTEGER, MAX_SAFE_INTEGER);
  times[1].tv_nsec = (long)arg_integer(&c, 4, "mtimeNsec", 0, MAX_NSEC);
  uint32_t flags = arg_u32(&c, 5, "flags");
  if (!c.failed && utimensat(AT_FDCWD, path, times, (int)flags) != 0)
    throw_errno(&c, errno, "utimensat", path, NULL, NULL);
  return call_end(&c, NULL);
}

/* close(fd), for the descriptors fsopen and fsmount return. */
napi_value js_close(napi_env env, napi_callback_info info) {
  call_t c;
  call_begin(&c, env, info);
  int fd = arg_fd(&c, 0, "fd");
  if (!c.failed && close(fd) != 0) throw_errno(&c, errno, "close", NULL, NULL, NULL);
  return call_end(&c, NULL);
}
