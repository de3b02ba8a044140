/* ck_limit: process-wide limits on what files and configs may make the
 * library do, kept in atomics so that any thread may read or lower them
 * while others load; and the per-thread weight budget of a load.
 * Process-wide rather than per thread: a program sets its limits once at
 * start, before its loading threads exist, and each thread would
 * otherwise start from the defaults. */
#include "core/limits.h"

#include <stdatomic.h>
#include <stdio.h>

#include "core/core.h"

/* Defaults, also the highest values (documented in include/ckeras.h). */
static const int64_t DEFAULTS[CK_LIMIT_COUNT] = {
    [CK_LIMIT_MODEL_DEPTH] = CK_MAX_MODEL_DEPTH,
    [CK_LIMIT_LAYERS] = 1000000,
    [CK_LIMIT_CONFIG_BYTES] = (int64_t)256 << 20,
    [CK_LIMIT_ARCHIVE_ENTRY_BYTES] = (int64_t)64 << 30,
    [CK_LIMIT_ARCHIVE_ENTRY_RATIO] = 1100,
    [CK_LIMIT_WEIGHT_BYTES] = (int64_t)1 << 40,
    [CK_LIMIT_TENSOR_RANK] = CK_MAX_RANK,
    [CK_LIMIT_TENSOR_ELEMENTS] = (int64_t)1 << 40,
};

static const char *const NAMES[CK_LIMIT_COUNT] = {
    [CK_LIMIT_MODEL_DEPTH] = "CK_LIMIT_MODEL_DEPTH",
    [CK_LIMIT_LAYERS] = "CK_LIMIT_LAYERS",
    [CK_LIMIT_CONFIG_BYTES] = "CK_LIMIT_CONFIG_BYTES",
    [CK_LIMIT_ARCHIVE_ENTRY_BYTES] = "CK_LIMIT_ARCHIVE_ENTRY_BYTES",
    [CK_LIMIT_ARCHIVE_ENTRY_RATIO] = "CK_LIMIT_ARCHIVE_ENTRY_RATIO",
    [CK_LIMIT_WEIGHT_BYTES] = "CK_LIMIT_WEIGHT_BYTES",
    [CK_LIMIT_TENSOR_RANK] = "CK_LIMIT_TENSOR_RANK",
    [CK_LIMIT_TENSOR_ELEMENTS] = "CK_LIMIT_TENSOR_ELEMENTS",
};

/* -1: still the default (static atomics cannot be initialised from the
 * table above portably, and -1 is never a set value). */
static _Atomic int64_t current[CK_LIMIT_COUNT] = {-1, -1, -1, -1, -1, -1, -1, -1};

static int valid(ck_limit_id id)
{
    return (int)id >= 0 && (int)id < CK_LIMIT_COUNT;
}

int64_t ck_limit_value(ck_limit_id id)
{
    if (!valid(id)) return 0;
    int64_t v = atomic_load(&current[id]);
    return v < 0 ? DEFAULTS[id] : v;
}

int64_t ck_limit(ck_limit_id id, int64_t value)
{
    if (!valid(id)) return -1;
    if (value < 0) return ck_limit_value(id);
    if (value > DEFAULTS[id]) value = DEFAULTS[id];
    int64_t old = atomic_exchange(&current[id], value);
    return old < 0 ? DEFAULTS[id] : old;
}

const char *ck_limit_name(ck_limit_id id)
{
    return valid(id) ? NAMES[id] : "an unknown limit";
}

ck_status ck_limit_refuse(ck_limit_id id, const char *where, const char *what, uint64_t n)
{
    return ck_error(CK_FORMAT_ERROR, "%s: %s (%llu) is over %s = %lld (ck_limit)", where ? where : "?", what,
                    (unsigned long long)n, ck_limit_name(id), (long long)ck_limit_value(id));
}

ck_status ck_limit_check_shape(int rank, const int64_t *dims, const char *where, const char *what)
{
    char label[256];
    if (rank > ck_limit_value(CK_LIMIT_TENSOR_RANK)) {
        snprintf(label, sizeof label, "the rank of %s", what);
        return ck_limit_refuse(CK_LIMIT_TENSOR_RANK, where, label, (uint64_t)(rank < 0 ? 0 : rank));
    }
    uint64_t max = (uint64_t)ck_limit_value(CK_LIMIT_TENSOR_ELEMENTS), count = 1;
    for (int i = 0; i < rank; i++) {
        uint64_t d = dims[i] < 0 ? 1 : (uint64_t)dims[i];
        /* saturating: only "over the limit" matters */
        count = d && count > UINT64_MAX / d ? UINT64_MAX : count * d;
    }
    if (count > max) {
        snprintf(label, sizeof label, "the element count of %s", what);
        return ck_limit_refuse(CK_LIMIT_TENSOR_ELEMENTS, where, label, count);
    }
    return CK_OK;
}

/* ---- the weight budget of one load (per thread: a load runs on one) ---- */

static _Thread_local int scope_depth;
static _Thread_local uint64_t scope_bytes;

int ck_load_scope_begin(void)
{
    if (scope_depth++ == 0) scope_bytes = 0;
    return 1;
}

void ck_load_scope_end(int token)
{
    if (token && scope_depth > 0) scope_depth--;
}

ck_status ck_load_charge(uint64_t bytes, const char *what)
{
    if (scope_depth == 0) return CK_OK;
    uint64_t max = (uint64_t)ck_limit_value(CK_LIMIT_WEIGHT_BYTES);
    if (bytes > max || scope_bytes > max - bytes) {
        uint64_t total = bytes > UINT64_MAX - scope_bytes ? UINT64_MAX : scope_bytes + bytes;
        return ck_error(CK_FORMAT_ERROR, "the weights loaded so far and %s need %llu bytes, over "
                        "CK_LIMIT_WEIGHT_BYTES = %lld (ck_limit)", what ? what : "a weight",
                        (unsigned long long)total, (long long)max);
    }
    scope_bytes += bytes;
    return CK_OK;
}
