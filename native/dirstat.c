/*
 * listDir: one directory's entries with their lstat and the few xattrs an overlay needs, in one call.
 * strata-fuse lists every directory of every layer, and stats most entries; Node's readdirSync plus an
 * lstatSync per entry cost a JS→C crossing, a Stats object and a BigInt array each. Here the directory
 * is read once, each entry fstatat()ed on the directory's descriptor, and everything returned as one
 * compact buffer (decoded by src/native.ts, which documents the layout).
 */
#include "strata.h"
#include "sys.h"

#include <dirent.h>
#include <sys/syscall.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "listDir's buffer is decoded as little-endian"
#endif

/* Xattr names asked for, per side (the directory itself, each entry). */
#define MAX_NAMES 8
#define NAME_SIZE 256 /* XATTR_NAME_MAX + 1 */
#define LIST_SIZE 4096
#define VALUE_SIZE 4096

typedef struct {
  char names[MAX_NAMES][NAME_SIZE];
  uint32_t count;
} name_set;

/* A growing output buffer; `failed` once an allocation failed. */
typedef struct {
  char *data;
  size_t len, cap;
  bool failed;
} out_t;

static void put(out_t *o, const void *p, size_t n) {
  if (o->failed) return;
  if (o->len + n > o->cap) {
    size_t cap = o->cap ? o->cap : 16384;
    while (cap < o->len + n) cap *= 2;
    char *grown = realloc(o->data, cap);
    if (grown == NULL) {
      o->failed = true;
      return;
    }
    o->data = grown;
    o->cap = cap;
  }
  memcpy(o->data + o->len, p, n);
  o->len += n;
}

static void put_u8(out_t *o, uint8_t v) { put(o, &v, 1); }
static void put_u16(out_t *o, uint16_t v) { put(o, &v, 2); }
static void put_u32(out_t *o, uint32_t v) { put(o, &v, 4); }
static void put_u64(out_t *o, uint64_t v) { put(o, &v, 8); }

/* Reads a JS array of at most MAX_NAMES strings. */
static void arg_names(call_t *c, size_t i, const char *what, name_set *set) {
  bool is_array = false;
  set->count = 0;
  if (c->failed) return;
  if (napi_is_array(c->env, c->argv[i], &is_array) != napi_ok || !is_array) {
    napi_throw_type_error(c->env, "ERR_INVALID_ARG_TYPE", what);
    c->failed = true;
    return;
  }
  uint32_t n = 0;
  if (!call_ok(c, napi_get_array_length(c->env, c->argv[i], &n))) return;
  if (n > MAX_NAMES) {
    napi_throw_range_error(c->env, "ERR_OUT_OF_RANGE", what);
    c->failed = true;
    return;
  }
  for (uint32_t k = 0; k < n; k++) {
    napi_value v;
    size_t len = 0;
    if (!call_ok(c, napi_get_element(c->env, c->argv[i], k, &v))) return;
    if (napi_get_value_string_utf8(c->env, v, set->names[k], NAME_SIZE, &len) != napi_ok || len >= NAME_SIZE - 1) {
      napi_throw_type_error(c->env, "ERR_INVALID_ARG_TYPE", what);
      c->failed = true;
      return;
    }
  }
  set->count = n;
}

static bool listed(const char *list, ssize_t len, const char *name) {
  for (const char *p = list, *end = list + len; p < end; p += strlen(p) + 1)
    if (strcmp(p, name) == 0) return true;
  return false;
}

/*
 * Appends `u8 count` then per value found `u8 index, u32 length, bytes`, reading only names the
 * entry lists (a listing answers "absent" without an error per name). fd >= 0 reads the open
 * directory, else path (not following a symlink). Returns 0 or an errno; missing xattr support is
 * no xattrs.
 */
static int put_xattrs(out_t *o, const name_set *want, int fd, const char *path) {
  char list[LIST_SIZE], value[VALUE_SIZE];
  uint8_t found = 0;
  size_t count_at = o->len;
  put_u8(o, 0);
  if (want->count == 0) return 0;
  ssize_t n = fd >= 0 ? flistxattr(fd, list, sizeof list) : llistxattr(path, list, sizeof list);
  if (n < 0) {
    if (errno == ENOTSUP || errno == ENOENT) return 0;
    /* ERANGE: a list this long is never ours alone; read the wanted names without it. */
    if (errno != ERANGE) return errno;
  }
  for (uint32_t k = 0; k < want->count; k++) {
    const char *name = want->names[k];
    if (n >= 0 && !listed(list, n, name)) continue;
    ssize_t v = fd >= 0 ? fgetxattr(fd, name, value, sizeof value) : lgetxattr(path, name, value, sizeof value);
    if (v < 0) {
      if (errno == ENODATA || errno == ENOTSUP || errno == ENOENT) continue;
      return errno; /* ERANGE included: no overlay value is that long */
    }
    put_u8(o, (uint8_t)k);
    put_u32(o, (uint32_t)v);
    put(o, value, (size_t)v);
    found++;
  }
  if (!o->failed) o->data[count_at] = (char)found;
  return 0;
}

/* Record flag: mode, uid, gid, nlink and rdev are the entry's lstat; without it only the type is. */
#define FULL_STAT 1

static void put_entry(out_t *o, const char *name, size_t name_len, uint8_t flags, const struct stat *st) {
  put_u16(o, (uint16_t)name_len);
  put(o, name, name_len);
  put_u8(o, flags);
  put_u32(o, st->st_mode);
  put_u32(o, st->st_uid);
  put_u32(o, st->st_gid);
  put_u32(o, (uint32_t)st->st_nlink);
  put_u64(o, st->st_rdev);
  put_u64(o, st->st_dev);
  put_u64(o, st->st_ino);
}

struct linux_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

/* Where a failure happened, for the error's message. */
typedef struct {
  int err;
  const char *syscall;
  const char *path;
} failure_t;

/*
 * Appends one entry: lstat()ed when asked to, or when its type alone cannot tell (a character device
 * may be a whiteout; some filesystems give no type); otherwise type from d_type, inode from d_ino and
 * device from the directory. Returns false on a failure (ENOENT is not one: the entry went away).
 */
static bool list_entry(out_t *o, int fd, const struct stat *dir_st, const struct linux_dirent64 *d, bool stat_all,
                       const name_set *want, char *entry_path, size_t path_len, failure_t *f) {
  const char *name = d->d_name;
  size_t name_len = strlen(name);
  if (path_len + 1 + name_len >= PATH_MAX) {
    *f = (failure_t){ENAMETOOLONG, "lstat", NULL};
    return false;
  }
  entry_path[path_len] = '/';
  memcpy(entry_path + path_len + 1, name, name_len + 1);
  struct stat st;
  uint8_t flags = 0;
  if (stat_all || d->d_type == DT_UNKNOWN || d->d_type == DT_CHR) {
    if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return true;
      *f = (failure_t){errno, "lstat", entry_path};
      return false;
    }
    flags = FULL_STAT;
  } else {
    memset(&st, 0, sizeof st);
    st.st_mode = DTTOIF(d->d_type);
    st.st_ino = d->d_ino;
    st.st_dev = dir_st->st_dev;
  }
  put_entry(o, name, name_len, flags, &st);
  int err = put_xattrs(o, want, -1, entry_path);
  if (err == 0) return true;
  *f = (failure_t){err, "llistxattr", entry_path};
  return false;
}

/* Reads the open directory fd to its end, appending its entries; returns how many. */
static uint32_t list_entries(out_t *o, int fd, const struct stat *dir_st, bool stat_all, const name_set *want,
                             char *entry_path, size_t path_len, failure_t *f) {
  char buf[32768] __attribute__((aligned(8)));
  uint32_t count = 0;
  for (;;) {
    long n = syscall(SYS_getdents64, fd, buf, sizeof buf);
    if (n < 0) {
      *f = (failure_t){errno, "scandir", NULL};
      return count;
    }
    if (n == 0) return count;
    for (long at = 0; at < n;) {
      const struct linux_dirent64 *d = (const struct linux_dirent64 *)(buf + at);
      at += d->d_reclen;
      const char *name = d->d_name;
      if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
      size_t before = o->len;
      if (!list_entry(o, fd, dir_st, d, stat_all, want, entry_path, path_len, f)) return count;
      if (o->len != before) count++;
      if (o->failed) return count;
    }
  }
}

/* listDir(path, dirXattrs: string[], entryXattrs: string[], statAll: boolean) → Buffer (layout in src/native.ts). */
napi_value js_list_dir(napi_env env, napi_callback_info info) {
  call_t c;
  name_set dir_want, entry_want;
  out_t o = {0};
  napi_value result = NULL;
  bool stat_all = false;
  char entry_path[PATH_MAX];
  call_begin(&c, env, info);
  const char *path = arg_string(&c, 0, "path");
  arg_names(&c, 1, "The \"dirXattrs\" argument must be an array of at most 8 xattr names", &dir_want);
  arg_names(&c, 2, "The \"entryXattrs\" argument must be an array of at most 8 xattr names", &entry_want);
  if (!c.failed && napi_get_value_bool(env, c.argv[3], &stat_all) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "The \"statAll\" argument must be of type boolean");
    c.failed = true;
  }
  if (c.failed) return call_end(&c, NULL);
  size_t path_len = strlen(path);
  if (path_len >= PATH_MAX) {
    throw_errno(&c, ENAMETOOLONG, "opendir", path, NULL, NULL);
    return call_end(&c, NULL);
  }
  memcpy(entry_path, path, path_len + 1);

  struct stat dir_st;
  failure_t f = {0, NULL, NULL};
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || fstat(fd, &dir_st) != 0) {
    f = (failure_t){errno, "opendir", path};
  } else {
    int err = put_xattrs(&o, &dir_want, fd, NULL);
    if (err != 0) f = (failure_t){err, "llistxattr", path};
  }
  if (f.err == 0) {
    size_t count_at = o.len;
    put_u32(&o, 0);
    uint32_t count = list_entries(&o, fd, &dir_st, stat_all, &entry_want, entry_path, path_len, &f);
    if (f.err == 0 && o.failed) f = (failure_t){ENOMEM, "listDir", path};
    if (f.err == 0) memcpy(o.data + count_at, &count, 4);
  }
  if (fd >= 0) close(fd);
  if (f.err != 0) {
    throw_errno(&c, f.err, f.syscall, f.path ? f.path : path, NULL, NULL);
  } else {
    void *copy = NULL;
    call_ok(&c, napi_create_buffer_copy(env, o.len, o.data, &copy, &result));
  }
  free(o.data);
  return call_end(&c, result);
}
