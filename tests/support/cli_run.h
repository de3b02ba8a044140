/* Running the built ckeras tool from a test (not part of the library). */
#ifndef CK_TEST_CLI_RUN_H
#define CK_TEST_CLI_RUN_H

#include <stddef.h>

/* What one run of the tool left: its exit status (128 for a signal) and
 * both streams (NUL-terminated; out_len counts stdout's bytes, which may be
 * binary). */
typedef struct run_result {
    int status;
    size_t out_len;
    char out[16384], err[16384];
} run_result;

/* Reads up to n - 1 bytes of a file into buf (NUL-terminated); returns the
 * count (0 if the file cannot be opened). */
size_t ck_test_slurp(const char *path, char *buf, size_t n);

/* Runs $CK_CLI with args (NULL-terminated), capturing stdout and stderr
 * through files in the build's tmp/ (named by pid, so test programs that
 * ctest runs in parallel do not collide). */
void ck_test_run_cli(run_result *r, const char *const *args);

#endif
