/* Status names and the per-thread last-error message. */
#include <stdarg.h>
#include <stdio.h>

#include "core.h"

enum { CK_ERROR_CAPACITY = 1024 };

/* One message per thread, as errno: ckeras holds no other global state. */
static _Thread_local char last_message[CK_ERROR_CAPACITY];
static _Thread_local ck_status last_status = CK_OK;

const char *ck_version(void) { return CK_VERSION_STRING; }

const char *ck_status_name(ck_status status)
{
    switch (status) {
    case CK_OK: return "OK";
    case CK_VALUE_ERROR: return "ValueError";
    case CK_TYPE_ERROR: return "TypeError";
    case CK_ATTRIBUTE_ERROR: return "AttributeError";
    case CK_RUNTIME_ERROR: return "RuntimeError";
    case CK_NOT_IMPLEMENTED: return "NotImplementedError";
    case CK_IO_ERROR: return "IOError";
    case CK_FORMAT_ERROR: return "FormatError";
    case CK_OUT_OF_MEMORY: return "OutOfMemory";
    }
    return "UnknownError";
}

const char *ck_last_error(void) { return last_message; }

ck_status ck_last_status(void) { return last_status; }

void ck_clear_error(void)
{
    last_message[0] = '\0';
    last_status = CK_OK;
}

ck_status ck_error(ck_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_message, sizeof last_message, fmt, ap);
    va_end(ap);
    last_status = status;
    return status;
}

ck_status ck_null_arg(const char *fn, const char *arg)
{
    return ck_error(CK_VALUE_ERROR, "%s: argument '%s' is NULL", fn, arg);
}

ck_status ck_oom(const char *what)
{
    return ck_error(CK_OUT_OF_MEMORY, "out of memory while allocating %s",
                    what ? what : "memory");
}
