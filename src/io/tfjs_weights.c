/* TF.js layers-model weights: model.json's weightsManifest lists groups of
 * binary files (little-endian, concatenated per group) and, in order, the
 * name, shape and dtype of each weight ("<layer>/<weight>"). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/limits.h"
#include "io/model_io.h"

typedef struct tfjs_weight {
    const char *name;
    ck_tensor *value;
} tfjs_weight;

/* Reads the files of one group into one buffer. */
static ck_status read_group(const char *dir, const json_t *paths, const char *json_path, unsigned char **out,
                            size_t *len)
{
    unsigned char *buf = NULL;
    size_t used = 0;
    for (size_t i = 0; i < json_array_size(paths); i++) {
        const char *rel = json_string_value(json_array_get(paths, i));
        if (!rel || strstr(rel, "..") || rel[0] == '/') {
            ck_free(buf);
            return ck_error(CK_FORMAT_ERROR, "%s: bad weight file path in weightsManifest", json_path);
        }
        char path[4096];
        snprintf(path, sizeof path, "%s%s", dir, rel);
        FILE *f = fopen(path, "rb");
        if (!f) {
            ck_free(buf);
            return ck_error(CK_IO_ERROR, "%s: cannot open weight file '%s': %s", json_path, path, strerror(errno));
        }
        for (;;) {
            unsigned char *grown = ck_realloc(buf, used + 65536);
            if (!grown) {
                fclose(f);
                ck_free(buf);
                return ck_oom("TF.js weights");
            }
            buf = grown;
            size_t got = fread(buf + used, 1, 65536, f);
            used += got;
            if (got < 65536) break;
        }
        int bad = ferror(f);
        fclose(f);
        if (bad) {
            ck_free(buf);
            return ck_error(CK_IO_ERROR, "%s: cannot read '%s'", json_path, path);
        }
    }
    *out = buf;
    *len = used;
    return CK_OK;
}

static ck_status parse_group(const json_t *group, const unsigned char *buf, size_t len, const char *file,
                             tfjs_weight *out, int max, int *n)
{
    size_t offset = 0;
    const json_t *specs = json_object_get(group, "weights");
    for (size_t i = 0; i < json_array_size(specs); i++) {
        const json_t *s = json_array_get(specs, i);
        const char *name = json_string_value(json_object_get(s, "name"));
        const char *dtype = json_string_value(json_object_get(s, "dtype"));
        const json_t *shape = json_object_get(s, "shape");
        if (!name || !dtype || !json_is_array(shape))
            return ck_error(CK_FORMAT_ERROR, "%s: a weight spec needs name, shape and dtype", file);
        if (json_object_get(s, "quantization"))
            return ck_error(CK_NOT_IMPLEMENTED, "%s: quantized TF.js weights (%s) are not supported", file, name);
        ck_dtype dt;
        if (!strcmp(dtype, "float32")) dt = CK_FLOAT32;
        else if (!strcmp(dtype, "int32")) dt = CK_INT32;
        else return ck_error(CK_NOT_IMPLEMENTED, "%s: TF.js weight dtype '%s' (%s)", file, dtype, name);
        int64_t dims[CK_MAX_RANK];
        size_t rank = json_array_size(shape);
        if (rank > CK_MAX_RANK) return ck_error(CK_FORMAT_ERROR, "%s: weight %s has rank %zu", file, name, rank);
        for (size_t d = 0; d < rank; d++) {
            const json_t *v = json_array_get(shape, d);
            if (!json_is_integer(v) || json_integer_value(v) < 0)
                return ck_error(CK_FORMAT_ERROR, "%s: weight %s has a bad shape", file, name);
            dims[d] = json_integer_value(v);
        }
        if (*n >= max) return ck_error(CK_NOT_IMPLEMENTED, "%s: more than %d weights", file, max);
        /* The shape is checked against the bytes the files hold before
         * anything is allocated for it: a manifest may claim any size. */
        int64_t count = 0;
        if (ck_shape_count(dt, (int)rank, dims, &count) != CK_OK)
            return ck_error(CK_FORMAT_ERROR, "%s: weight %s has a shape too large to hold", file, name);
        if ((uint64_t)count > (uint64_t)(len - offset) / 4)
            return ck_error(CK_FORMAT_ERROR, "%s: the weight files end before weight %s (%llu bytes short)", file,
                            name, (unsigned long long)((uint64_t)count * 4 - (len - offset)));
        size_t bytes = (size_t)count * 4;
        CK_TRY(ck_limit_check_shape((int)rank, dims, file, name));
        CK_TRY(ck_load_charge(bytes, name));
        ck_tensor *t = NULL;
        CK_TRY(ck_tensor_new(&t, dt, (int)rank, dims));
        /* TF.js writes little-endian; this build assumes a little-endian
         * host for it, as TF.js itself does. */
        if (bytes) memcpy(t->data, buf + offset, bytes); /* (an empty weight file has no buffer) */
        offset += bytes;
        out[(*n)++] = (tfjs_weight){name, t};
    }
    return CK_OK;
}

ck_status ck_model_assign_tfjs_weights(ck_model *m, const json_t *model_json, const char *json_path)
{
    enum { MAX_WEIGHTS = 4096 };
    char dir[4096];
    const char *slash = strrchr(json_path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - json_path + 1) : 0, json_path);
    const json_t *manifest = json_object_get(model_json, "weightsManifest");
    if (!json_is_array(manifest)) return ck_error(CK_FORMAT_ERROR, "%s: weightsManifest is not a list", json_path);
    tfjs_weight *w = ck_calloc(MAX_WEIGHTS, sizeof *w);
    if (!w) return ck_oom("TF.js weights");
    int n = 0;
    ck_status st = CK_OK;
    for (size_t g = 0; st == CK_OK && g < json_array_size(manifest); g++) {
        const json_t *group = json_array_get(manifest, g);
        unsigned char *buf = NULL;
        size_t len = 0;
        st = read_group(dir, json_object_get(group, "paths"), json_path, &buf, &len);
        if (st == CK_OK) st = parse_group(group, buf, len, json_path, w, MAX_WEIGHTS, &n);
        ck_free(buf);
    }
    /* Match "<layer>/<weight>" names to the model's weights; check all
     * layers, then assign. */
    ck_tensor *values[256]; /* w[j].value, which the file owns */
    for (int pass = 0; st == CK_OK && pass < 2; pass++) {
        for (int k = 0; st == CK_OK && k < m->n_layers; k++) {
            ck_layer *l = m->layers[k];
            int nw = ck_layer_weight_count(l);
            if (nw == 0) continue;
            if (nw > 256) {
                st = ck_error(CK_NOT_IMPLEMENTED, "layer with more than 256 weights");
                break;
            }
            for (int i = 0; st == CK_OK && i < nw; i++) {
                /* Our names are "<layer>/<weight>:0"; TF.js drops ":0".  A
                 * nested model's weights keep their own layer prefix. */
                const char *full = ck_weight_name(ck_layer_weight(l, i));
                size_t flen = strlen(full);
                if (flen > 2 && strcmp(full + flen - 2, ":0") == 0) flen -= 2;
                values[i] = NULL;
                for (int j = 0; j < n && !values[i]; j++)
                    if (strlen(w[j].name) == flen && strncmp(w[j].name, full, flen) == 0) values[i] = w[j].value;
                if (!values[i])
                    st = ck_error(CK_FORMAT_ERROR, "%s: no weight named %.*s in weightsManifest", json_path, (int)flen, full);
            }
            if (st == CK_OK && pass == 0) {
                for (int i = 0; st == CK_OK && i < nw; i++) {
                    const ck_tensor *ref = ck_weight_value(ck_layer_weight(l, i));
                    int same = ref->rank == values[i]->rank;
                    for (int d = 0; same && d < ref->rank; d++) same = ref->shape[d] == values[i]->shape[d];
                    if (!same)
                        st = ck_error(CK_VALUE_ERROR, "%s: weight %s has another shape in the model than in the file",
                                      json_path, ck_weight_name(ck_layer_weight(l, i)));
                }
            }
            if (st == CK_OK && pass == 1) st = ck_layer_set_weights(l, nw, values);
        }
    }
    for (int i = 0; i < n; i++) ck_tensor_free(w[i].value);
    ck_free(w);
    return st;
}
