/*
 * h5_test_files.h -- HDF5 inputs of the reader tests (tests/io/
 * test_h5_reader_*.c): a file written through libhdf5 with the newer
 * structures, and a sorted walk over a directory tree of files.
 */
#ifndef CK_TESTS_SUPPORT_H5_TEST_FILES_H
#define CK_TESTS_SUPPORT_H5_TEST_FILES_H

/* Writes `path` through libhdf5: groups, attributes of every string and
 * number kind, contiguous, compact and chunked datasets (every chunk index
 * the reader knows, deflate, shuffle and fletcher32 filters), many links
 * and a dataset never written (fill value).  latest = 1 asks for the newest
 * library version bounds (superblock 3, v2 object headers, dense links and
 * attributes); latest = 0 for the earliest ones. */
void ck_test_h5_write_newer(const char *path, int latest);

/* 1 when n ends in ".h5" or ".hdf5". */
int ck_test_is_h5_name(const char *n);

typedef void (*ck_test_file_fn)(const char *path, void *ctx);

/* Calls fn(path, ctx) for every file under `dir` (recursively, entries in
 * strcmp order, names starting with '.' skipped) whose name `want` accepts.
 * A missing directory is no file. */
void ck_test_walk_dir(const char *dir, int (*want)(const char *), ck_test_file_fn fn, void *ctx);

#endif
