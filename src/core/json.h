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

#endif
