#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
