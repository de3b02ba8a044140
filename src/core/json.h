/* JSON helpers shared by every floor that reads configs (internal). */
#ifndef CK_CORE_JSON_H
#define CK_CORE_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "core/core.h"

/* Parses `len` bytes of JSON text (any value at top level).  A malformed
 * text is CK_FORMAT_ERROR "<what>: <jansson's message> (line, column)",
 * so `what` reads like "malformed model config JSON"; an allocation
 * failure is CK_OUT_OF_MEMORY.  *out is a new reference. */
ck_status ck_json_parse(const char *text, size_t len, const char *what, json_t **out);

/* Allocation failures seen so far by the calling thread (see alloc.c). */
unsigned long ck_alloc_failures(void);

/* The status a public entry point returns after work that started when
 * ck_alloc_failures() was `before`: if an allocation failed meanwhile, a
 * success or any other error becomes CK_OUT_OF_MEMORY (the failure is the
 * cause, and a success may be built on a silently truncated result); the
 * caller must then discard what it produced. */
ck_status ck_alloc_verdict(unsigned long before, ck_status st, const char *what);

/* json_dumps through the failure check: *out is ck_malloc'ed text, or
 * CK_OUT_OF_MEMORY (nothing returned) if any allocation failed on the way,
 * even one jansson did not report. */
ck_status ck_json_dumps(const json_t *j, size_t flags, const char *what, char **out);

#endif
