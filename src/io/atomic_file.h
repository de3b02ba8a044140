/* Durable file replacement shared by every writer (.npy, .h5, .keras,
 * .weights.h5, JSON, CSVLogger): the new content goes to a temporary file of
 * ours in the target's directory, which is flushed (fsync), renamed over the
 * target, and the directory flushed too, so that a crash or a kill at any
 * moment leaves either the old file or the complete new one.
 *
 * Temporary names follow one pattern, ".<name>.ckeras-tmp-<pid>-<n>", so
 * that a later save to the same target can recognise the leftovers of a
 * process that was killed mid-write (its pid no longer alive) and remove
 * them. */
#ifndef CK_IO_ATOMIC_FILE_H
#define CK_IO_ATOMIC_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "ckeras.h"

/* The marker between the target's name and the pid in a temporary name. */
#define CK_ATOMIC_TMP_MARK ".ckeras-tmp-"

typedef struct ck_atomic_file {
    char *path; /* the target (ck_malloc'ed copy) */
    char *tmp;  /* the temporary file (ck_malloc'ed) */
    FILE *f;    /* open for writing ("wb") on tmp */
} ck_atomic_file;

/* Removes stale temporaries of `path` (left by dead processes), then creates
 * a new temporary file next to it (O_EXCL, mode 0666 minus umask) and opens
 * af->f on it.  On failure nothing is left behind and *af is zeroed;
 * CK_IO_ERROR or CK_OUT_OF_MEMORY. */
ck_status ck_atomic_open(ck_atomic_file *af, const char *path);

/* Flushes and fsyncs af->f, closes it, renames the temporary file over the
 * target and fsyncs the directory.  `write_failed` != 0 (the caller's own
 * writes failed) makes it a CK_IO_ERROR.  On any failure the temporary file
 * is removed and the target left as it was.  Always releases *af. */
ck_status ck_atomic_commit(ck_atomic_file *af, int write_failed);

/* Gives up: closes and removes the temporary file, releases *af.  Safe on a
 * zeroed or already released *af. */
void ck_atomic_abort(ck_atomic_file *af);

/* The whole of `data` as the new content of `path` (open, write, commit). */
ck_status ck_atomic_write(const char *path, const void *data, size_t len);

/* A save whose content is built from many allocations (JSON text above
 * all: jansson may return text with a character missing after a failed
 * allocation) arms the guard around its work: while armed, a commit
 * refuses to replace the target if any allocation of this thread failed
 * since the outermost ck_atomic_guard_begin (CK_OUT_OF_MEMORY, temporary
 * file removed).  Nests; per thread. */
void ck_atomic_guard_begin(void);
void ck_atomic_guard_end(void);

/* Removes temporaries of `path` whose writer process is gone.  Called by
 * ck_atomic_open; exposed for tests.  Returns the number removed. */
int ck_atomic_clean_stale(const char *path);

#endif
