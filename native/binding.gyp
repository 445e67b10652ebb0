{
  "targets": [
    {
      "target_name": "strata_native",
      "sources": ["strata.c", "call.c", "files.c", "xattr.c", "mount.c", "dirstat.c", "warm.c"],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-pthread"],
      "ldflags": ["-pthread"]
    }
  ]
}
