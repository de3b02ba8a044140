#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

int ck_cli_fail(const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    /* One line, whatever the message holds. */
    for (char *p = buf; *p; p++)
        if (*p == '\n') *p = ' ';
    fprintf(stderr, "ckeras: error: %s\n", buf);
    return 1;
}

int ck_cli_fail_status(ck_status st)
{
    (void)st;
    return ck_cli_fail("%s", ck_last_error());
}

const char *ck_cli_option(int argc, char **argv, int *i, const char *name)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, n) != 0) return NULL;
    if (a[2 + n] == '=') return a + 3 + n;
    if (a[2 + n] == '\0' && *i + 1 < argc) {
        (*i)++;
        return argv[*i];
    }
    return NULL;
}

int ck_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return 1;
    return 0;
}

static int parse_int(const char *s, const char **end, int *out)
{
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (e == s || errno || v < -1000000 || v > 1000000) return -1;
    *out = (int)v;
    *end = e;
    return 0;
}

int ck_cli_parse_axes(const char *text, ck_axes *axes)
{
    const char *p = text, *end;
    int a, b;
    if (!text || parse_int(p, &end, &a) != 0) return -1;
    if (*end == '\0') {
        *axes = ck_axes_one(a);
        return 0;
    }
    if (*end != ',' || parse_int(end + 1, &end, &b) != 0 || *end != '\0') return -1;
    *axes = ck_axes_pair(a, b);
    return 0;
}

/* A float that C cannot convert to the integer type (NaN, infinite, out of
 * range) is undefined behaviour in a plain cast: refuse it instead. */
static ck_status check_float_to_int(const char *path, const ck_tensor *t, ck_dtype to)
{
    double lo = to == CK_INT32 ? -2147483648.0 : -9223372036854775808.0;
    double hi = to == CK_INT32 ? 2147483648.0 : 9223372036854775808.0;
    for (int64_t i = 0; i < t->size; i++) {
        double v = ck_tensor_get(t, i);
        /* Truncation toward zero (tf.cast) must land inside [lo, hi). */
        if (!(v > lo - 1.0 && v < hi))
            return ck_error(CK_VALUE_ERROR, "'%s': value %g at index %lld cannot be cast to %s", path, v,
                            (long long)i, ck_dtype_name(to));
    }
    return CK_OK;
}

/* *t replaced by its cast to `dtype` (0: kept) on success, left alone on
 * error; `path` names it in messages. */
static ck_status cast_input(const char *path, ck_tensor **t, ck_dtype dtype)
{
    ck_tensor *c = NULL;
    if (!dtype || (*t)->dtype == dtype) return CK_OK;
    ck_status st = CK_OK;
    if (ck_dtype_is_floating((*t)->dtype) && !ck_dtype_is_floating(dtype)) st = check_float_to_int(path, *t, dtype);
    if (st == CK_OK) st = ck_tensor_cast(&c, *t, dtype);
    if (st != CK_OK) return st;
    ck_tensor_free(*t);
    *t = c;
    return CK_OK;
}

ck_status ck_cli_load_input(const char *path, ck_dtype dtype, ck_tensor **out)
{
    ck_tensor *t = NULL;
    ck_status st = ck_npy_load(path, &t);
    if (st == CK_OK) st = cast_input(path, &t, dtype);
    if (st != CK_OK) {
        ck_tensor_free(t);
        t = NULL;
    }
    *out = t;
    return st;
}

/* Copies the file at `path` to stdout; CK_IO_ERROR if either side fails. */
static ck_status copy_to_stdout(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return ck_error(CK_IO_ERROR, "cannot reopen '%s': %s", path, strerror(errno));
    char buf[65536];
    size_t n;
    int bad = 0;
    while (!bad && (n = fread(buf, 1, sizeof buf, f)) > 0) bad = fwrite(buf, 1, n, stdout) != n;
    bad |= ferror(f);
    fclose(f);
    if (bad || fflush(stdout) != 0) return ck_error(CK_IO_ERROR, "cannot write the .npy to stdout: %s", strerror(errno));
    return CK_OK;
}

ck_status ck_cli_save_npy(const char *path, const ck_tensor *t)
{
    if (strcmp(path, "-") != 0) return ck_npy_save(path, t);
    /* The .npy writer works on files (a temporary name, then rename); the
     * bytes for stdout come from a private scratch directory, so they are
     * exactly what a file would hold and nothing half-written reaches
     * stdout when saving fails. */
    const char *tmp = getenv("TMPDIR");
    char dir[4096], file[4200];
    snprintf(dir, sizeof dir, "%s/ckeras-stdout-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) return ck_error(CK_IO_ERROR, "cannot create a scratch directory in '%s': %s",
                                       tmp && *tmp ? tmp : "/tmp", strerror(errno));
    snprintf(file, sizeof file, "%s/out.npy", dir);
    ck_status st = ck_npy_save(file, t);
    if (st == CK_OK) st = copy_to_stdout(file);
    unlink(file);
    rmdir(dir);
    return st;
}
