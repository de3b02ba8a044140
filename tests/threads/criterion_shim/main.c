/* The runner of criterion_shim/criterion.h: every registered test in order. */
#include <stdarg.h>
#include <stdio.h>

#include "criterion/criterion.h"

enum { MAX_TESTS = 256 };
static const char *names[MAX_TESTS];
static ck_shim_test_fn tests[MAX_TESTS];
static int count, failures;

void ck_shim_register(const char *name, ck_shim_test_fn fn)
{
    if (count < MAX_TESTS) {
        names[count] = name;
        tests[count++] = fn;
    }
}

void ck_shim_check(int ok, const char *file, int line, const char *fmt, ...)
{
    if (ok) return;
    failures++;
    fprintf(stderr, "%s:%d: check failed: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
}

int main(void)
{
    for (int i = 0; i < count; i++) {
        fprintf(stderr, "[RUN ] %s\n", names[i]);
        tests[i]();
    }
    fprintf(stderr, "%d test(s), %d failed check(s)\n", count, failures);
    return failures != 0;
}
