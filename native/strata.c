/*
 * strata's native addon: the syscalls Node lacks (device nodes, l*xattr, renameat2, mounts, the new mount
 * API, utimensat on symlinks) as synchronous functions, plus the kernel constants they take.
 * The JS side is src/native.ts; its `Addon` interface lists exactly what this module exports.
 */
#include "strata.h"
#include "sys.h"

#define FN(js, c_fn) {js, NULL, c_fn, NULL, NULL, NULL, napi_enumerable, NULL}

static const napi_property_descriptor functions[] = {
    FN("mknod", js_mknod),
    FN("renameat2", js_renameat2),
    FN("utimensat", js_utimensat),
    FN("close", js_close),
    FN("lgetxattr", js_lgetxattr),
    FN("lsetxattr", js_lsetxattr),
    FN("llistxattr", js_llistxattr),
    FN("lremovexattr", js_lremovexattr),
    FN("mount", js_mount),
    FN("umount2", js_umount2),
    FN("fsopen", js_fsopen),
    FN("fsconfig", js_fsconfig),
    FN("fsmount", js_fsmount),
    FN("moveMount", js_move_mount),
    FN("listDir", js_list_dir),
    FN("warmDir", js_warm_dir),
};

#define K(name) {#name, (int64_t)(name)}

/* Taken from the headers the addon is built against, so JS never hard-codes a flag's value. */
static const struct {
  const char *name;
  int64_t value;
} constants[] = {
    K(MS_RDONLY), K(MS_NOSUID), K(MS_NODEV), K(MS_NOEXEC), K(MS_NOATIME), K(MS_RELATIME),
    K(MS_BIND), K(MS_REC), K(MS_REMOUNT), K(MS_PRIVATE), K(MS_SLAVE), K(MS_SHARED),
    K(MNT_FORCE), K(MNT_DETACH), K(MNT_EXPIRE), K(UMOUNT_NOFOLLOW),
    K(RENAME_NOREPLACE), K(RENAME_EXCHANGE), K(RENAME_WHITEOUT),
    K(XATTR_CREATE), K(XATTR_REPLACE),
    K(AT_FDCWD), K(AT_SYMLINK_NOFOLLOW), K(AT_EMPTY_PATH), K(UTIME_NOW), K(UTIME_OMIT),
    K(FSOPEN_CLOEXEC), K(FSCONFIG_SET_FLAG), K(FSCONFIG_SET_STRING), K(FSCONFIG_SET_PATH),
    K(FSCONFIG_CMD_CREATE), K(FSCONFIG_CMD_RECONFIGURE), K(FSMOUNT_CLOEXEC), K(MOVE_MOUNT_F_EMPTY_PATH),
    K(MOUNT_ATTR_RDONLY), K(MOUNT_ATTR_NOSUID), K(MOUNT_ATTR_NODEV), K(MOUNT_ATTR_NOEXEC), K(MOUNT_ATTR_NOATIME),
};

static napi_value make_constants(napi_env env) {
  napi_value obj, value;
  if (napi_create_object(env, &obj) != napi_ok) return NULL;
  for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++) {
    if (napi_create_int64(env, constants[i].value, &value) != napi_ok ||
        napi_set_named_property(env, obj, constants[i].name, value) != napi_ok)
      return NULL;
  }
  return napi_object_freeze(env, obj) == napi_ok ? obj : NULL;
}

NAPI_MODULE_INIT() {
  napi_value consts = make_constants(env);
  if (consts == NULL || napi_set_named_property(env, exports, "constants", consts) != napi_ok ||
      napi_define_properties(env, exports, sizeof functions / sizeof functions[0], functions) != napi_ok) {
    napi_throw_error(env, NULL, "strata_native: failed to initialise the module");
    return NULL;
  }
  return exports;
}
