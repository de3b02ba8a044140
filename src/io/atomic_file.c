/* Durable file replacement: temporary file, fsync, rename, fsync of the
 * directory (see atomic_file.h for why). */
#define _POSIX_C_SOURCE 200809L
#include "io/atomic_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "core/core.h"
#include "core/json.h"

/* Splits `path` at its last '/': *dir_len is the length of the directory
 * part (0 when there is none, i.e. the current directory) and the base name
 * starts at path + *base_at. */
static void split_path(const char *path, size_t *dir_len, size_t *base_at)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        *dir_len = 0;
        *base_at = 0;
        return;
    }
    /* "/x": the directory is "/" itself */
    *dir_len = slash == path ? 1 : (size_t)(slash - path);
    *base_at = (size_t)(slash - path) + 1;
}

/* Opens the directory part of `path` (O_DIRECTORY) or returns -1. */
static int open_dir_of(const char *path)
{
    size_t dl, ba;
    split_path(path, &dl, &ba);
    if (dl == 0) return open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    char stackbuf[512];
    char *dir = dl < sizeof stackbuf ? stackbuf : ck_malloc(dl + 1);
    if (!dir) return -1;
    memcpy(dir, path, dl);
    dir[dl] = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir != stackbuf) ck_free(dir);
    return fd;
}

/* Is `s` "<pid>-<n>" with a pid of a process that no longer exists?  Our
 * own pid never counts: another thread of ours may be writing that file. */
static int names_dead_writer(const char *s)
{
    char *end;
    errno = 0;
    long pid = strtol(s, &end, 10);
    if (errno || end == s || *end != '-' || pid <= 0 || (pid_t)pid == getpid()) return 0;
    const char *n = end + 1;
    if (!*n) return 0;
    for (; *n; n++)
        if (*n < '0' || *n > '9') return 0;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static int clean_stale_in(int dirfd_, const char *base)
{
    int fd = dup(dirfd_);
    if (fd < 0) return 0;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return 0;
    }
    size_t bl = strlen(base), ml = strlen(CK_ATOMIC_TMP_MARK);
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (name[0] != '.' || strncmp(name + 1, base, bl) != 0 ||
            strncmp(name + 1 + bl, CK_ATOMIC_TMP_MARK, ml) != 0)
            continue;
        if (names_dead_writer(name + 1 + bl + ml) && unlinkat(dirfd(d), name, 0) == 0) removed++;
    }
    closedir(d);
    return removed;
}

int ck_atomic_clean_stale(const char *path)
{
    if (!path) return 0;
    size_t dl, ba;
    split_path(path, &dl, &ba);
    if (!path[ba]) return 0;
    int dfd = open_dir_of(path);
    if (dfd < 0) return 0;
    int n = clean_stale_in(dfd, path + ba);
    close(dfd);
    return n;
}

static _Thread_local int guard_depth;
static _Thread_local unsigned long guard_base;

void ck_atomic_guard_begin(void)
{
    if (guard_depth++ == 0) guard_base = ck_alloc_failures();
}

void ck_atomic_guard_end(void)
{
    if (guard_depth > 0) guard_depth--;
}

static void release(ck_atomic_file *af)
{
    ck_free(af->path);
    ck_free(af->tmp);
    memset(af, 0, sizeof *af);
}

ck_status ck_atomic_open(ck_atomic_file *af, const char *path)
{
    static atomic_ulong counter; /* atomic: threads may save at once */
    memset(af, 0, sizeof *af);
    if (!path || !*path) return ck_error(CK_VALUE_ERROR, "cannot save: empty file name");
    size_t dl, ba;
    split_path(path, &dl, &ba);
    if (!path[ba]) return ck_error(CK_VALUE_ERROR, "cannot save to '%s': not a file name", path);
    ck_atomic_clean_stale(path);
    size_t n = strlen(path) + strlen(CK_ATOMIC_TMP_MARK) + 48;
    af->tmp = ck_malloc(n);
    af->path = ck_strdup(path);
    if (!af->tmp || !af->path) {
        release(af);
        return ck_oom("a temporary file name");
    }
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        snprintf(af->tmp, n, "%.*s%s.%s%s%ld-%lu", (int)dl, path, dl && ba > 1 ? "/" : "",
                 path + ba, CK_ATOMIC_TMP_MARK, (long)getpid(),
                 atomic_fetch_add(&counter, 1) + 1);
        fd = open(af->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        ck_status st = ck_error(CK_IO_ERROR, "cannot save '%s': cannot create a temporary file "
                                "next to it: %s", path, strerror(errno));
        release(af);
        return st;
    }
    af->f = fdopen(fd, "wb");
    if (!af->f) {
        int e = errno;
        close(fd);
        unlink(af->tmp);
        release(af);
        return e == ENOMEM ? ck_oom("a file stream")
                           : ck_error(CK_IO_ERROR, "cannot save '%s': %s", path, strerror(e));
    }
    return CK_OK;
}

void ck_atomic_abort(ck_atomic_file *af)
{
    if (!af) return;
    if (af->f) fclose(af->f);
    if (af->tmp) unlink(af->tmp);
    release(af);
}

ck_status ck_atomic_commit(ck_atomic_file *af, int write_failed)
{
    if (!af || !af->f) return ck_error(CK_VALUE_ERROR, "ck_atomic_commit: no open file");
    if (guard_depth > 0 && ck_alloc_failures() != guard_base) {
        ck_atomic_abort(af);
        return ck_oom("the content of a file to save");
    }
    const char *step = "write";
    int e = EIO;
    int ok = !write_failed && !ferror(af->f);
    if (ok && fflush(af->f) != 0) ok = 0, e = errno;
    /* the data must be on disk before the rename makes it visible, or a
     * crash could leave an empty or partial file under the target's name */
    if (ok && fsync(fileno(af->f)) != 0) ok = 0, e = errno, step = "flush to disk";
    if (fclose(af->f) != 0 && ok) ok = 0, e = errno;
    af->f = NULL;
    if (ok && rename(af->tmp, af->path) != 0) ok = 0, e = errno, step = "rename the temporary file to";
    if (!ok) {
        ck_status st = ck_error(CK_IO_ERROR, "cannot %s '%s': %s", step, af->path, strerror(e));
        unlink(af->tmp);
        release(af);
        return st;
    }
    /* the rename itself is durable only once the directory is flushed;
     * file systems that cannot fsync a directory (EINVAL) make it durable
     * by other means */
    ck_status st = CK_OK;
    int dfd = open_dir_of(af->path);
    if (dfd >= 0) {
        if (fsync(dfd) != 0 && errno != EINVAL && errno != EROFS)
            st = ck_error(CK_IO_ERROR, "cannot flush the directory of '%s' to disk: %s", af->path,
                          strerror(errno));
        close(dfd);
    }
    release(af);
    return st;
}

ck_status ck_atomic_write(const char *path, const void *data, size_t len)
{
    ck_atomic_file af;
    CK_TRY(ck_atomic_open(&af, path));
    int bad = len > 0 && fwrite(data, 1, len, af.f) != len;
    return ck_atomic_commit(&af, bad);
}
