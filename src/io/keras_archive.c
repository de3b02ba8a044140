/* Keras 3 `.keras` archives (libzip) <-> plain data; their HDF5 part and
 * `.weights.h5` files are keras_archive_h5.c.  See keras_archive.h. */
#include "io/keras_archive.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zip.h>

#include "core/limits.h"
#include "io/atomic_file.h"
#include "io/h5_util.h"
#include "io/json_check.h"
#include "model/model_limits.h"

static const char *const ENTRY_METADATA = "metadata.json";
static const char *const ENTRY_CONFIG = "config.json";
static const char *const ENTRY_WEIGHTS = "model.weights.h5";

/* ======================================================================== */
/* freeing, lookup                                                           */
/* ======================================================================== */

void ck_keras_archive_free(ck_keras_archive *a)
{
    if (!a) return;
    ck_free(a->metadata_json);
    ck_free(a->config_json);
    for (size_t i = 0; a->vars && i < a->n_vars; i++) {
        ck_free(a->vars[i].path);
        ck_tensor_free(a->vars[i].value);
    }
    ck_free(a->vars);
    for (size_t i = 0; a->groups && i < a->n_groups; i++) {
        ck_free(a->groups[i].path);
        ck_free(a->groups[i].name);
    }
    ck_free(a->groups);
    ck_free(a);
}

const ck_tensor *ck_keras_archive_find(const ck_keras_archive *a, const char *path)
{
    if (!a || !path) return NULL;
    for (size_t i = 0; i < a->n_vars; i++)
        if (a->vars[i].path && strcmp(a->vars[i].path, path) == 0) return a->vars[i].value;
    return NULL;
}

/* ======================================================================== */
/* reading the archive                                                       */
/* ======================================================================== */

static ck_status zip_open_error(const char *path, int code)
{
    zip_error_t e;
    zip_error_init_with_code(&e, code);
    char msg[256];
    snprintf(msg, sizeof msg, "%s", zip_error_strerror(&e));
    zip_error_fini(&e);
    switch (code) {
    case ZIP_ER_MEMORY: return ck_error(CK_OUT_OF_MEMORY, "%s: out of memory opening the archive", path);
    case ZIP_ER_NOENT:
    case ZIP_ER_OPEN:
    case ZIP_ER_READ:
    case ZIP_ER_SEEK:
        return ck_error(CK_IO_ERROR, "%s: cannot open the archive: %s", path, msg);
    default:
        return ck_error(CK_FORMAT_ERROR, "%s: not a valid .keras (zip) archive: %s", path, msg);
    }
}

/* Reads entry `name` whole into a NUL-terminated ck_malloc'ed buffer;
 * *data = NULL if the entry is absent.  The size the entry declares is
 * held to the limits of ck_limit first (`archive_bytes`: the archive
 * file's size; `config` 1: a JSON config, CK_LIMIT_CONFIG_BYTES too);
 * libzip then refuses to inflate more than that size. */
static ck_status read_entry(zip_t *za, const char *path, const char *name, uint64_t archive_bytes, int config,
                            char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    zip_int64_t idx = zip_name_locate(za, name, 0);
    if (idx < 0) return CK_OK;
    zip_stat_t zs;
    zip_stat_init(&zs);
    if (zip_stat_index(za, (zip_uint64_t)idx, 0, &zs) != 0 || !(zs.valid & ZIP_STAT_SIZE))
        return ck_error(CK_FORMAT_ERROR, "%s: cannot read the size of entry %s: %s", path, name,
                        zip_strerror(za));
    if (zs.size >= (zip_uint64_t)SIZE_MAX || zs.size > ((zip_uint64_t)1 << 40))
        return ck_error(CK_FORMAT_ERROR, "%s: entry %s claims %llu bytes", path, name,
                        (unsigned long long)zs.size);
    char what[256];
    snprintf(what, sizeof what, "the size of entry %s", name);
    if (zs.size > (zip_uint64_t)ck_limit_value(CK_LIMIT_ARCHIVE_ENTRY_BYTES))
        return ck_limit_refuse(CK_LIMIT_ARCHIVE_ENTRY_BYTES, path, what, zs.size);
    uint64_t ratio = (uint64_t)ck_limit_value(CK_LIMIT_ARCHIVE_ENTRY_RATIO);
    if (zs.size > 65536 && zs.size / ratio > archive_bytes) {
        snprintf(what, sizeof what, "how many times larger than the archive entry %s expands", name);
        return ck_limit_refuse(CK_LIMIT_ARCHIVE_ENTRY_RATIO, path, what,
                               archive_bytes ? zs.size / archive_bytes : zs.size);
    }
    if (config) CK_TRY(ck_config_check_size((size_t)zs.size, path));
    size_t size = (size_t)zs.size;
    char *buf = ck_malloc(size + 1);
    if (!buf) return ck_oom("an archive entry");
    zip_file_t *zf = zip_fopen_index(za, (zip_uint64_t)idx, 0);
    if (!zf) {
        ck_status st = ck_error(CK_FORMAT_ERROR, "%s: cannot open entry %s: %s", path, name,
                                zip_strerror(za));
        ck_free(buf);
        return st;
    }
    ck_status st = CK_OK;
    size_t got = 0;
    while (got < size) {
        zip_int64_t r = zip_fread(zf, buf + got, size - got);
        if (r <= 0) {
            st = ck_error(CK_FORMAT_ERROR, "%s: entry %s is damaged or truncated (%zu of %zu bytes read%s%s)",
                          path, name, got, size, r < 0 ? ": " : "", r < 0 ? zip_file_strerror(zf) : "");
            break;
        }
        got += (size_t)r;
    }
    if (st == CK_OK) {
        /* Reading past the end makes libzip check the CRC. */
        char extra;
        zip_int64_t r = zip_fread(zf, &extra, 1);
        if (r != 0)
            st = ck_error(CK_FORMAT_ERROR, "%s: entry %s is damaged (%s)", path, name,
                          r < 0 ? zip_file_strerror(zf) : "longer than its declared size");
    }
    int closed = zip_fclose(zf);
    if (st == CK_OK && closed != 0) {
        zip_error_t e;
        zip_error_init_with_code(&e, closed);
        st = ck_error(CK_FORMAT_ERROR, "%s: entry %s is damaged (%s)", path, name,
                      zip_error_strerror(&e));
        zip_error_fini(&e);
    }
    if (st != CK_OK) {
        ck_free(buf);
        return st;
    }
    buf[size] = '\0';
    *data = buf;
    *len = size;
    return CK_OK;
}

static ck_status check_json_text(const char *text, size_t len, const char *path, const char *entry)
{
    if (strlen(text) != len)
        return ck_error(CK_FORMAT_ERROR, "%s: %s contains a NUL byte", path, entry);
    char label[1200];
    snprintf(label, sizeof label, "%s: %s", path, entry);
    return ck_json_check_object(text, len, label);
}

static ck_status archive_read_impl(const char *path, ck_keras_archive **out)
{
    /* the archive's size, for CK_LIMIT_ARCHIVE_ENTRY_RATIO */
    struct stat fst;
    if (stat(path, &fst) != 0) return ck_error(CK_IO_ERROR, "%s: cannot open the archive: %s", path, strerror(errno));
    uint64_t archive_bytes = (uint64_t)fst.st_size;
    int err = 0;
    zip_t *za = zip_open(path, ZIP_RDONLY | ZIP_CHECKCONS, &err);
    if (!za) return zip_open_error(path, err);
    ck_keras_archive *a = ck_calloc(1, sizeof *a);
    char *h5 = NULL;
    size_t len = 0, h5len = 0;
    char what[1200];
    ck_h5r *f = NULL;
    ck_status st = CK_OK;
    if (!a) {
        st = ck_oom("a Keras archive");
        goto done;
    }
    st = read_entry(za, path, ENTRY_METADATA, archive_bytes, 1, &a->metadata_json, &len);
    if (st == CK_OK && a->metadata_json) st = check_json_text(a->metadata_json, len, path, ENTRY_METADATA);
    if (st != CK_OK) goto done;
    st = read_entry(za, path, ENTRY_CONFIG, archive_bytes, 1, &a->config_json, &len);
    if (st != CK_OK) goto done;
    if (!a->config_json) {
        st = ck_error(CK_FORMAT_ERROR, "%s: no %s in the archive (not a Keras model archive?)", path,
                      ENTRY_CONFIG);
        goto done;
    }
    st = check_json_text(a->config_json, len, path, ENTRY_CONFIG);
    if (st != CK_OK) goto done;
    st = read_entry(za, path, ENTRY_WEIGHTS, archive_bytes, 0, &h5, &h5len);
    if (st != CK_OK) goto done;
    if (!h5) {
        if (zip_name_locate(za, "model.weights.npz", 0) >= 0)
            st = ck_error(CK_NOT_IMPLEMENTED,
                          "%s: weights stored as model.weights.npz are not supported yet", path);
        else
            st = ck_error(CK_FORMAT_ERROR, "%s: no %s in the archive (sharded weights are not "
                          "supported)", path, ENTRY_WEIGHTS);
        goto done;
    }
    snprintf(what, sizeof what, "%s (entry %s)", path, ENTRY_WEIGHTS);
    st = ck_h5u_open_image(h5, h5len, what, &f);
    ck_free(h5);
    h5 = NULL;
    if (st != CK_OK) goto done;
    st = ck_keras_h5_part_read(f, a);
done:
    ck_h5r_close(f);
    ck_free(h5);
    zip_discard(za);
    if (st != CK_OK) {
        ck_keras_archive_free(a);
        return st;
    }
    *out = a;
    return CK_OK;
}

ck_status ck_keras_archive_read(const char *path, ck_keras_archive **out)
{
    if (!path || !out)
        return ck_error(CK_VALUE_ERROR, "ck_keras_archive_read: path and out must not be NULL");
    return archive_read_impl(path, out);
}

/* ======================================================================== */
/* writing                                                                   */
/* ======================================================================== */

static ck_status add_entry(zip_t *za, const char *path, const char *name, const void *data,
                           size_t len, time_t mtime)
{
    zip_source_t *src = zip_source_buffer(za, len ? data : "", len, 0);
    if (!src) return ck_error(CK_IO_ERROR, "%s: cannot add %s: %s", path, name, zip_strerror(za));
    zip_int64_t idx = zip_file_add(za, name, src, ZIP_FL_ENC_UTF_8);
    if (idx < 0) {
        ck_status st = ck_error(CK_IO_ERROR, "%s: cannot add %s: %s", path, name, zip_strerror(za));
        zip_source_free(src);
        return st;
    }
    /* As Python's ZipFile in Keras: stored, Unix, mode 0600, no file type. */
    if (zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0) != 0 ||
        zip_file_set_mtime(za, (zip_uint64_t)idx, mtime, 0) != 0 ||
        zip_file_set_external_attributes(za, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX,
                                         (zip_uint32_t)0600 << 16) != 0)
        return ck_error(CK_IO_ERROR, "%s: cannot set the attributes of %s: %s", path, name,
                        zip_strerror(za));
    return CK_OK;
}

/* Copies the finished in-memory archive to `path` durably. */
static ck_status write_source(zip_source_t *mem, const char *path)
{
    if (zip_source_open(mem) != 0)
        return ck_error(CK_IO_ERROR, "%s: cannot read back the archive: %s", path,
                        zip_error_strerror(zip_source_error(mem)));
    ck_atomic_file af;
    ck_status st = ck_atomic_open(&af, path);
    if (st != CK_OK) {
        zip_source_close(mem);
        return st;
    }
    char buf[65536];
    int bad = 0;
    zip_int64_t n;
    while ((n = zip_source_read(mem, buf, sizeof buf)) > 0)
        if (fwrite(buf, 1, (size_t)n, af.f) != (size_t)n) {
            bad = 1;
            break;
        }
    if (n < 0) bad = 1;
    zip_source_close(mem);
    return ck_atomic_commit(&af, bad);
}

static ck_status archive_write_impl(const char *path, const ck_keras_archive *a)
{
    void *h5 = NULL;
    size_t h5len = 0;
    char what[1200];
    snprintf(what, sizeof what, "%s (entry %s)", path, ENTRY_WEIGHTS);
    CK_TRY(ck_keras_h5_part_image(a, what, &h5, &h5len));
    /* The archive is built in memory and written by ckeras' own durable
     * writer: zip_open() on the path would leave libzip's own temporary
     * "out.keras.XXXXXX" behind if the process were killed. */
    zip_error_t zerr;
    zip_error_init(&zerr);
    zip_source_t *mem = zip_source_buffer_create(NULL, 0, 0, &zerr);
    zip_t *za = NULL;
    if (mem) {
        zip_source_keep(mem); /* still needed after zip_close() */
        za = zip_open_from_source(mem, ZIP_TRUNCATE, &zerr);
    }
    if (!za) {
        ck_status st = ck_error(zip_error_code_zip(&zerr) == ZIP_ER_MEMORY ? CK_OUT_OF_MEMORY
                                                                           : CK_IO_ERROR,
                                "%s: cannot create the archive: %s", path, zip_error_strerror(&zerr));
        zip_error_fini(&zerr);
        if (mem) zip_source_free(mem);
        ck_free(h5);
        return st;
    }
    zip_error_fini(&zerr);
    struct tm epoch = {0};
    epoch.tm_year = 80;
    epoch.tm_mday = 1;
    epoch.tm_isdst = -1;
    time_t t1980 = mktime(&epoch);
    ck_status st = add_entry(za, path, ENTRY_METADATA, a->metadata_json, strlen(a->metadata_json), t1980);
    if (st == CK_OK)
        st = add_entry(za, path, ENTRY_CONFIG, a->config_json, strlen(a->config_json), t1980);
    if (st == CK_OK) st = add_entry(za, path, ENTRY_WEIGHTS, h5, h5len, time(NULL));
    if (st == CK_OK && zip_close(za) != 0) {
        st = ck_error(CK_IO_ERROR, "%s: cannot write the archive: %s", path, zip_strerror(za));
        zip_discard(za);
    } else if (st != CK_OK) {
        zip_discard(za);
    }
    ck_free(h5);
    if (st == CK_OK) st = write_source(mem, path);
    zip_source_free(mem);
    return st;
}

ck_status ck_keras_archive_write(const char *path, const ck_keras_archive *a)
{
    if (!path || !a)
        return ck_error(CK_VALUE_ERROR, "ck_keras_archive_write: path and a must not be NULL");
    if (!a->metadata_json || !a->config_json)
        return ck_error(CK_VALUE_ERROR,
                        "ck_keras_archive_write: metadata_json and config_json are required");
    CK_TRY(ck_keras_archive_validate(a, "ck_keras_archive_write"));
    return archive_write_impl(path, a);
}
