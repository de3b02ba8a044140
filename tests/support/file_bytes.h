/* ck_test_file_bytes: a whole file read with plain stdio, independent of the
 * code under test (the npy tests compare ckeras' bytes with numpy's and
 * feed raw images to ck_npy_load_buffer). */
#ifndef CK_TESTS_SUPPORT_FILE_BYTES_H
#define CK_TESTS_SUPPORT_FILE_BYTES_H

#include <stddef.h>

/* The bytes of `path` in a malloc'd buffer (free with free()), their count
 * in *len.  A file that cannot be opened or a failed allocation is a
 * Criterion assertion failure. */
unsigned char *ck_test_file_bytes(const char *path, size_t *len);

#endif
