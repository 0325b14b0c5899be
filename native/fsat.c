/*
 * linksnap's only native code: the *at() system calls Node lacks, one entry per call, errors
 * returned as errno numbers instead of thrown, and a folder's names as one sorted, packed
 * buffer. Node can only name a file by a path, so an entry of an open folder costs a walk of
 * /proc/self/fd/<fd>/<name> (or of the whole absolute path), a Stats object with a dozen
 * BigInts and Dates, and an exception when it is gone; fstatat/linkat relative to open folders
 * cost a single component's lookup. A listing through Node costs a Buffer per name.
 * src/util/fsat.ts loads this and falls back to plain fs calls when it is not built; both pass
 * the same tests. docs/decisions.md says why it exists.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <node_api.h>

#define NAME_MAX_BYTES 4096

/* Copy a Buffer or string argument into a NUL-terminated name; 0 on success, an errno else. */
static int get_name(napi_env env, napi_value v, char *out) {
  bool is_buffer = false;
  napi_is_buffer(env, v, &is_buffer);
  if (is_buffer) {
    void *data;
    size_t len;
    if (napi_get_buffer_info(env, v, &data, &len) != napi_ok) return EINVAL;
    if (len >= NAME_MAX_BYTES || memchr(data, 0, len) != NULL) return len >= NAME_MAX_BYTES ? ENAMETOOLONG : EINVAL;
    memcpy(out, data, len);
    out[len] = 0;
    return 0;
  }
  size_t len;
  if (napi_get_value_string_utf8(env, v, out, NAME_MAX_BYTES, &len) != napi_ok) return EINVAL;
  if (len >= NAME_MAX_BYTES - 1) return ENAMETOOLONG;
  return strlen(out) == len ? 0 : EINVAL;
}

static int get_fd(napi_env env, napi_value v, int *fd) {
  return napi_get_value_int32(env, v, fd) == napi_ok ? 0 : EINVAL;
}

/* The (dirFd, name) pair at argv[0], argv[1]; 0 or an errno. */
static int get_at(napi_env env, napi_value *argv, int *fd, char *name) {
  int e = get_fd(env, argv[0], fd);
  return e ? e : get_name(env, argv[1], name);
}

static napi_value errno_value(napi_env env, int e) {
  napi_value r;
  napi_create_int32(env, e, &r);
  return r;
}

/* lstatAt(dirFd, name, out: BigInt64Array(9)) -> 0 or errno.
 * out: mode, uid, gid, dev, ino, size, mtime ns, ctime ns, nlink. */
static napi_value lstat_at(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) return errno_value(env, EINVAL);
  int fd;
  char name[NAME_MAX_BYTES];
  int e = get_at(env, argv, &fd, name);
  if (e) return errno_value(env, e);
  napi_typedarray_type type;
  size_t length;
  void *data;
  if (napi_get_typedarray_info(env, argv[2], &type, &length, &data, NULL, NULL) != napi_ok || type != napi_bigint64_array || length < 9) {
    return errno_value(env, EINVAL);
  }
  struct stat st;
  if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) return errno_value(env, errno);
  int64_t *o = (int64_t *)data;
  o[0] = st.st_mode;
  o[1] = st.st_uid;
  o[2] = st.st_gid;
  o[3] = (int64_t)st.st_dev;
  o[4] = (int64_t)st.st_ino;
  o[5] = st.st_size;
  o[6] = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  o[7] = (int64_t)st.st_ctim.tv_sec * 1000000000 + st.st_ctim.tv_nsec;
  o[8] = (int64_t)st.st_nlink;
  return errno_value(env, 0);
}

/* linkAt(oldDirFd, oldName, newDirFd, newName) -> 0 or errno. Never follows a symlink at oldName. */
static napi_value link_at(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) return errno_value(env, EINVAL);
  int oldfd, newfd;
  char oldname[NAME_MAX_BYTES], newname[NAME_MAX_BYTES];
  int e = get_at(env, argv, &oldfd, oldname);
  if (!e) e = get_at(env, argv + 2, &newfd, newname);
  if (e) return errno_value(env, e);
  return errno_value(env, linkat(oldfd, oldname, newfd, newname, 0) == 0 ? 0 : errno);
}

/* unlinkAt(dirFd, name, folder: boolean) -> 0 or errno: unlinkat(2), AT_REMOVEDIR for a folder. */
static napi_value unlink_at(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) return errno_value(env, EINVAL);
  int fd;
  bool folder = false;
  char name[NAME_MAX_BYTES];
  int e = get_at(env, argv, &fd, name);
  if (!e && napi_get_value_bool(env, argv[2], &folder) != napi_ok) e = EINVAL;
  if (e) return errno_value(env, e);
  return errno_value(env, unlinkat(fd, name, folder ? AT_REMOVEDIR : 0) == 0 ? 0 : errno);
}

/* openDirAt(dirFd, name) -> fd (>= 0) or -errno: a folder, never through a symlink. */
static napi_value open_dir_at(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2) return errno_value(env, -EINVAL);
  int fd;
  char name[NAME_MAX_BYTES];
  int e = get_at(env, argv, &fd, name);
  if (e) return errno_value(env, -e);
  int r = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  return errno_value(env, r >= 0 ? r : -errno);
}

/* A growing buffer of packed names: u16 length (little-endian), then the bytes, per name. */
struct names {
  unsigned char *buf;
  size_t used, cap;
  size_t *offs;
  size_t count, offs_cap;
};

static int names_add(struct names *n, const char *name, size_t len) {
  if (n->used + 2 + len > n->cap) {
    size_t cap = n->cap ? n->cap * 2 : 64 * 1024;
    while (cap < n->used + 2 + len) cap *= 2;
    unsigned char *b = realloc(n->buf, cap);
    if (!b) return ENOMEM;
    n->buf = b;
    n->cap = cap;
  }
  if (n->count == n->offs_cap) {
    size_t cap = n->offs_cap ? n->offs_cap * 2 : 1024;
    size_t *o = realloc(n->offs, cap * sizeof *o);
    if (!o) return ENOMEM;
    n->offs = o;
    n->offs_cap = cap;
  }
  n->offs[n->count++] = n->used;
  n->buf[n->used] = len & 0xff;
  n->buf[n->used + 1] = (len >> 8) & 0xff;
  memcpy(n->buf + n->used + 2, name, len);
  n->used += 2 + len;
  return 0;
}

static size_t name_len(const unsigned char *p) {
  return (size_t)p[0] | ((size_t)p[1] << 8);
}

/* Byte order, as Buffer.compare: memcmp of the common length, then the shorter first. */
static int compare_names(const void *a, const void *b, void *base) {
  const unsigned char *x = (const unsigned char *)base + *(const size_t *)a;
  const unsigned char *y = (const unsigned char *)base + *(const size_t *)b;
  size_t lx = name_len(x), ly = name_len(y);
  int c = memcmp(x + 2, y + 2, lx < ly ? lx : ly);
  if (c) return c;
  return lx < ly ? -1 : lx > ly ? 1 : 0;
}

/* listNames(dirFd) -> Buffer (every name but . and .., packed and in byte order) or errno. */
static napi_value list_names(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int fd;
  if (argc < 1 || get_fd(env, argv[0], &fd)) return errno_value(env, EINVAL);
  /* A descriptor of its own for the stream: closedir closes it, not the caller's. */
  int own = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (own < 0) return errno_value(env, errno);
  DIR *d = fdopendir(own);
  if (!d) {
    int e = errno;
    close(own);
    return errno_value(env, e);
  }
  struct names n = { 0 };
  int e = 0;
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(d);
    if (!de) {
      e = errno;
      break;
    }
    const char *nm = de->d_name;
    if (nm[0] == '.' && (nm[1] == 0 || (nm[1] == '.' && nm[2] == 0))) continue;
    e = names_add(&n, nm, strlen(nm));
    if (e) break;
  }
  closedir(d);
  napi_value result;
  if (!e) {
    /* qsort_r: worker threads list folders at the same time, so no global sort state. */
    qsort_r(n.offs, n.count, sizeof *n.offs, compare_names, n.buf);
    void *out;
    if (napi_create_buffer(env, n.used, &out, &result) != napi_ok) e = ENOMEM;
    else {
      unsigned char *o = out;
      for (size_t i = 0; i < n.count; i++) {
        size_t len = 2 + name_len(n.buf + n.offs[i]);
        memcpy(o, n.buf + n.offs[i], len);
        o += len;
      }
    }
  }
  free(n.buf);
  free(n.offs);
  return e ? errno_value(env, e) : result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "lstatAt", NULL, lstat_at, NULL, NULL, NULL, napi_default, NULL },
    { "linkAt", NULL, link_at, NULL, NULL, NULL, napi_default, NULL },
    { "openDirAt", NULL, open_dir_at, NULL, NULL, NULL, napi_default, NULL },
    { "listNames", NULL, list_names, NULL, NULL, NULL, napi_default, NULL },
    { "unlinkAt", NULL, unlink_at, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
