/*
 * json_check.h -- a JSON syntax check that allocates nothing (internal).
 *
 * The file readers check that model_config / config.json are JSON objects
 * before handing the text on.  jansson cannot be used for that check: when
 * an allocation fails while it parses, it reports a syntax error ("invalid
 * token") instead of running out of memory, so a failing allocator would
 * turn into a false CK_FORMAT_ERROR.  This checker needs no memory and
 * follows jansson's decoder rules (RFC 8259 with UTF-8 checked, "\u0000" allowed
 * as JSON_ALLOW_NUL does,
 * surrogate escapes paired, nesting at most 2048 deep); only the range
 * checks of numbers (jansson's "too big integer" / "real number overflow")
 * are left to the later parse.
 */
#ifndef CK_IO_JSON_CHECK_H
#define CK_IO_JSON_CHECK_H

#include <stddef.h>

#include "core/core.h"

/* CK_OK if `len` bytes of `text` are one JSON object (surrounded by
 * optional whitespace), else CK_FORMAT_ERROR "<label> is not valid JSON:
 * <what> (line L, column C)" or "<label> is JSON but not an object". */
ck_status ck_json_check_object(const char *text, size_t len, const char *label);

#endif
