/* Just enough of Criterion's interface to build a Criterion suite as a plain
 * program, for `make test-tsan`: Criterion's runner cannot start under
 * ThreadSanitizer ("Could not initialize inheritable arena").  Test()
 * registers the function from a constructor; main.c runs them in order and
 * exits non-zero when a check failed.  Checks only count and print. */
#ifndef CK_CRITERION_SHIM_H
#define CK_CRITERION_SHIM_H

#include <stdio.h>

typedef void (*ck_shim_test_fn)(void);
void ck_shim_register(const char *name, ck_shim_test_fn fn);
/* Counts a failure and prints the message (printf-style) when !ok. */
void ck_shim_check(int ok, const char *file, int line, const char *fmt, ...);

#define Test(suite, name)                                                              \
    static void suite##_##name(void);                                                  \
    __attribute__((constructor)) static void suite##_##name##_register(void)           \
    {                                                                                  \
        ck_shim_register(#suite "::" #name, suite##_##name);                           \
    }                                                                                  \
    static void suite##_##name(void)

#define cr_expect(c, ...) ck_shim_check(!!(c), __FILE__, __LINE__, "" __VA_ARGS__)
#define cr_assert(c, ...) cr_expect(c, __VA_ARGS__)
#define cr_expect_eq(a, b, ...) cr_expect((a) == (b), __VA_ARGS__)
#define cr_assert_eq(a, b, ...) cr_expect((a) == (b), __VA_ARGS__)
#define cr_expect_neq(a, b, ...) cr_expect((a) != (b), __VA_ARGS__)
#define cr_expect_geq(a, b, ...) cr_expect((a) >= (b), __VA_ARGS__)

#endif
