/* libhdf5 helpers for the Keras file floor: errors, opening, the object
 * tree, atomic replacement, text (strings are in h5_strings.c, datasets in
 * h5_datasets.c).  See h5_util.h. */
#include "io/h5_util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


/* ======================================================================== */
/* errors                                                                    */
/* ======================================================================== */

void ck_h5u_quiet_begin(ck_h5u_quiet *q)
{
    q->func = NULL;
    q->data = NULL;
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void ck_h5u_quiet_end(const ck_h5u_quiet *q)
{
    H5Eset_auto2(H5E_DEFAULT, q->func, q->data);
}

typedef struct detail_buf {
    char text[256];
} detail_buf;

static herr_t innermost_error(unsigned n, const H5E_error2_t *err, void *data)
{
    detail_buf *d = data;
    if (n == 0 && err && err->desc) snprintf(d->text, sizeof d->text, "%s", err->desc);
    return 0;
}

ck_status ck_h5u_fail(ck_status status, const char *file, const char *fmt, ...)
{
    char msg[640];
    detail_buf d;
    d.text[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost_error, &d);
    H5Eclear2(H5E_DEFAULT);
    if (d.text[0]) return ck_error(status, "%s: %s (libhdf5: %s)", file, msg, d.text);
    return ck_error(status, "%s: %s", file, msg);
}

void ck_h5u_close(hid_t id)
{
    if (id < 0) return;
    switch (H5Iget_type(id)) {
    case H5I_FILE: H5Fclose(id); break;
    case H5I_GROUP: H5Gclose(id); break;
    case H5I_DATASET: H5Dclose(id); break;
    case H5I_ATTR: H5Aclose(id); break;
    case H5I_DATATYPE: H5Tclose(id); break;
    case H5I_DATASPACE: H5Sclose(id); break;
    case H5I_GENPROP_LST: H5Pclose(id); break;
    default: break;
    }
}

const char *ck_h5u_type_class_name(H5T_class_t c)
{
    switch (c) {
    case H5T_INTEGER: return "integer";
    case H5T_FLOAT: return "float";
    case H5T_TIME: return "time";
    case H5T_STRING: return "string";
    case H5T_BITFIELD: return "bitfield";
    case H5T_OPAQUE: return "opaque";
    case H5T_COMPOUND: return "compound";
    case H5T_REFERENCE: return "reference";
    case H5T_ENUM: return "enum";
    case H5T_VLEN: return "vlen";
    case H5T_ARRAY: return "array";
    default: return "unknown";
    }
}

/* ======================================================================== */
/* opening                                                                   */
/* ======================================================================== */

static const unsigned char h5_signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};

ck_status ck_h5u_open(const char *path, hid_t *fid, hsize_t *size)
{
    if (!path) return ck_error(CK_VALUE_ERROR, "HDF5 file path is NULL");
    FILE *fp = fopen(path, "rb");
    if (!fp) return ck_error(CK_IO_ERROR, "%s: cannot open: %s", path, strerror(errno));
    unsigned char head[8];
    size_t got = fread(head, 1, sizeof head, fp);
    int read_error = ferror(fp), err = errno;
    fclose(fp);
    if (read_error) return ck_error(CK_IO_ERROR, "%s: cannot read: %s", path, strerror(err));
    int has_signature = got == sizeof head && memcmp(head, h5_signature, sizeof head) == 0;

    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        if (!has_signature) {
            H5Eclear2(H5E_DEFAULT);
            return ck_error(CK_FORMAT_ERROR, "%s: not an HDF5 file (no HDF5 signature)", path);
        }
        return ck_h5u_fail(CK_FORMAT_ERROR, path, "damaged or truncated HDF5 file");
    }
    hsize_t sz = 0;
    if (H5Fget_filesize(f, &sz) < 0) {
        ck_status st = ck_h5u_fail(CK_FORMAT_ERROR, path, "cannot get the file size");
        H5Fclose(f);
        return st;
    }
    *fid = f;
    if (size) *size = sz;
    return CK_OK;
}

static void image_name(char *buf, size_t n)
{
    /* The core driver keys open files by name: keep each image's distinct. */
    static unsigned long counter;
    snprintf(buf, n, "ckeras-image-%ld-%lu.h5", (long)getpid(), ++counter);
}

ck_status ck_h5u_open_image(const void *buf, size_t len, const char *what,
                            hid_t *fid, hsize_t *size)
{
    if (len < sizeof h5_signature || memcmp(buf, h5_signature, sizeof h5_signature) != 0)
        return ck_error(CK_FORMAT_ERROR, "%s: not an HDF5 file (no HDF5 signature)", what);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return ck_h5u_fail(CK_RUNTIME_ERROR, what, "cannot create a file access list");
    if (H5Pset_fapl_core(fapl, 1 << 16, 0) < 0 || H5Pset_file_image(fapl, (void *)buf, len) < 0) {
        ck_status st = ck_h5u_fail(CK_OUT_OF_MEMORY, what, "cannot load the HDF5 image into memory");
        H5Pclose(fapl);
        return st;
    }
    char name[96];
    image_name(name, sizeof name);
    hid_t f = H5Fopen(name, H5F_ACC_RDONLY, fapl);
    if (f < 0) {
        ck_status st = ck_h5u_fail(CK_FORMAT_ERROR, what, "damaged or truncated HDF5 file");
        H5Pclose(fapl);
        return st;
    }
    H5Pclose(fapl);
    hsize_t sz = 0;
    if (H5Fget_filesize(f, &sz) < 0) {
        ck_status st = ck_h5u_fail(CK_FORMAT_ERROR, what, "cannot get the file size");
        H5Fclose(f);
        return st;
    }
    *fid = f;
    if (size) *size = sz;
    return CK_OK;
}

ck_status ck_h5u_create_image(const char *what, hid_t *fid)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return ck_h5u_fail(CK_RUNTIME_ERROR, what, "cannot create a file access list");
    if (H5Pset_fapl_core(fapl, 1 << 16, 0) < 0) {
        ck_status st = ck_h5u_fail(CK_RUNTIME_ERROR, what, "cannot select the in-memory driver");
        H5Pclose(fapl);
        return st;
    }
    char name[96];
    image_name(name, sizeof name);
    hid_t f = H5Fcreate(name, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (f < 0) {
        ck_status st = ck_h5u_fail(CK_IO_ERROR, what, "cannot create an in-memory HDF5 file");
        H5Pclose(fapl);
        return st;
    }
    H5Pclose(fapl);
    *fid = f;
    return CK_OK;
}

ck_status ck_h5u_image_bytes(hid_t fid, const char *what, void **buf, size_t *len)
{
    if (H5Fflush(fid, H5F_SCOPE_LOCAL) < 0)
        return ck_h5u_fail(CK_IO_ERROR, what, "cannot flush the in-memory HDF5 file");
    ssize_t n = H5Fget_file_image(fid, NULL, 0);
    if (n <= 0) return ck_h5u_fail(CK_IO_ERROR, what, "cannot get the in-memory HDF5 image");
    void *b = ck_malloc((size_t)n);
    if (!b) return ck_oom("an HDF5 file image");
    if (H5Fget_file_image(fid, b, (size_t)n) != n) {
        ck_free(b);
        return ck_h5u_fail(CK_IO_ERROR, what, "cannot copy the in-memory HDF5 image");
    }
    *buf = b;
    *len = (size_t)n;
    return CK_OK;
}

/* ======================================================================== */
/* tree                                                                      */
/* ======================================================================== */

ck_h5u_kind ck_h5u_kind_of(hid_t loc, const char *name)
{
    /* H5Lexists fails (rather than saying no) when an intermediate group of
     * a path is missing; both mean "not there". */
    htri_t ex = H5Lexists(loc, name, H5P_DEFAULT);
    if (ex <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return CK_H5U_OTHER;
    }
    H5L_info_t li;
    if (H5Lget_info(loc, name, &li, H5P_DEFAULT) < 0 || li.type != H5L_TYPE_HARD) {
        H5Eclear2(H5E_DEFAULT);
        return CK_H5U_OTHER;
    }
    hid_t o = H5Oopen(loc, name, H5P_DEFAULT);
    if (o < 0) {
        H5Eclear2(H5E_DEFAULT);
        return CK_H5U_BROKEN;
    }
    H5I_type_t t = H5Iget_type(o);
    H5Oclose(o);
    return t == H5I_GROUP ? CK_H5U_GROUP : t == H5I_DATASET ? CK_H5U_DATASET : CK_H5U_OTHER;
}

void ck_h5u_free_children(ck_h5u_child *c, size_t n)
{
    if (!c) return;
    for (size_t i = 0; i < n; i++) ck_free(c[i].name);
    ck_free(c);
}

static int child_cmp(const void *a, const void *b)
{
    return strcmp(((const ck_h5u_child *)a)->name, ((const ck_h5u_child *)b)->name);
}

ck_status ck_h5u_list_children(hid_t g, const char *file, const char *where,
                               ck_h5u_child **out, size_t *n_out)
{
    H5G_info_t gi;
    if (H5Gget_info(g, &gi) < 0)
        return ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot list group %s", where);
    if (gi.nlinks > CK_H5U_MAX_STRINGS)
        return ck_error(CK_FORMAT_ERROR, "%s: group %s claims %llu links", file, where,
                        (unsigned long long)gi.nlinks);
    size_t n = (size_t)gi.nlinks;
    ck_h5u_child *c = ck_calloc(n ? n : 1, sizeof *c);
    if (!c) return ck_oom("a list of HDF5 links");
    ck_status st = CK_OK;
    for (size_t i = 0; i < n; i++) {
        ssize_t len = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, (hsize_t)i, NULL, 0,
                                         H5P_DEFAULT);
        if (len < 0) {
            st = ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot read link %zu of group %s", i, where);
            break;
        }
        c[i].name = ck_malloc((size_t)len + 1);
        if (!c[i].name) {
            st = ck_oom("an HDF5 link name");
            break;
        }
        if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, (hsize_t)i, c[i].name,
                               (size_t)len + 1, H5P_DEFAULT) < 0) {
            st = ck_h5u_fail(CK_FORMAT_ERROR, file, "cannot read link %zu of group %s", i, where);
            break;
        }
        c[i].kind = ck_h5u_kind_of(g, c[i].name);
        if (c[i].kind == CK_H5U_BROKEN) {
            st = ck_error(CK_FORMAT_ERROR, "%s: object %s/%s cannot be read (damaged or truncated file)",
                          file, strcmp(where, "/") == 0 ? "" : where, c[i].name);
            break;
        }
    }
    if (st != CK_OK) {
        ck_h5u_free_children(c, n);
        return st;
    }
    qsort(c, n, sizeof *c, child_cmp);
    *out = c;
    *n_out = n;
    return CK_OK;
}

/* ======================================================================== */
/* atomic replacement                                                        */
/* ======================================================================== */

ck_status ck_h5u_temp_reserve(const char *path, char **tmp_out)
{
    static unsigned long counter;
    size_t n = strlen(path) + 64;
    char *tmp = ck_malloc(n);
    if (!tmp) return ck_oom("a temporary file name");
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(tmp, n, "%s.tmp-%ld-%lu", path, (long)getpid(), ++counter);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd >= 0) {
            close(fd);
            *tmp_out = tmp;
            return CK_OK;
        }
        if (errno != EEXIST) {
            ck_status st = ck_error(CK_IO_ERROR, "%s: cannot create a temporary file %s: %s",
                                    path, tmp, strerror(errno));
            ck_free(tmp);
            return st;
        }
    }
    ck_free(tmp);
    return ck_error(CK_IO_ERROR, "%s: cannot find a free temporary file name", path);
}

ck_status ck_h5u_temp_commit(const char *tmp, const char *path)
{
    int fd = open(tmp, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) {
        ck_status st = ck_error(CK_IO_ERROR, "%s: cannot flush %s to disk: %s", path, tmp,
                                strerror(errno));
        if (fd >= 0) close(fd);
        remove(tmp);
        return st;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        ck_status st = ck_error(CK_IO_ERROR, "%s: cannot replace the file with %s: %s", path, tmp,
                                strerror(errno));
        remove(tmp);
        return st;
    }
    return CK_OK;
}

/* ======================================================================== */
/* text                                                                      */
/* ======================================================================== */

void ck_h5u_text_add(ck_h5u_text *t, const char *fmt, ...)
{
    if (t->oom) return;
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0) return;
    if (t->len + (size_t)need + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (t->len + (size_t)need + 1 > cap) cap *= 2;
        char *d = ck_realloc(t->data, cap);
        if (!d) {
            t->oom = 1;
            return;
        }
        t->data = d;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->data + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)need;
}

void ck_h5u_text_quoted(ck_h5u_text *t, const char *s, size_t n)
{
    ck_h5u_text_add(t, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') ck_h5u_text_add(t, "\\%c", c);
        else if (c < 0x20 || c == 0x7f) ck_h5u_text_add(t, "\\x%02x", c);
        else ck_h5u_text_add(t, "%c", c);
    }
    ck_h5u_text_add(t, "\"");
}

char *ck_h5u_join(const char *dir, const char *name, int leading_slash)
{
    size_t dl = strlen(dir), nl = strlen(name);
    int root = dl == 0 || (dl == 1 && dir[0] == '/');
    char *p = ck_malloc(dl + nl + 3);
    if (!p) return NULL;
    if (root) snprintf(p, dl + nl + 3, "%s%s", leading_slash ? "/" : "", name);
    else snprintf(p, dl + nl + 3, "%s/%s", dir, name);
    return p;
}
