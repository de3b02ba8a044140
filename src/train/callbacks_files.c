/* The callbacks that write files: CSVLogger and ModelCheckpoint. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/atomic_file.h"
#include "train/trainer.h"

/* ---- CSVLogger ------------------------------------------------------------ */

typedef struct csv_logger {
    char *filename;
    char sep[8];
    bool append;
    /* rows go to a temporary file that replaces `filename` durably at the
     * end of training (io/atomic_file.h); f is af.f */
    ck_atomic_file af;
    FILE *f;
    int header_done;
    char keys[CK_MAX_LOGS][64];
    int n_keys;
} csv_logger;

static int cmp_names(const void *a, const void *b) { return strcmp(a, b); }

static ck_status csv_begin(void *u, ck_model *m)
{
    csv_logger *c = u;
    (void)m;
    ck_atomic_abort(&c->af); /* a previous fit that did not end */
    c->f = NULL;
    CK_TRY(ck_atomic_open(&c->af, c->filename));
    c->f = c->af.f;
    int had_rows = 0, bad = 0;
    if (c->append) {
        /* appending: the temporary file starts as a copy of the old one */
        FILE *old = fopen(c->filename, "rb");
        if (old) {
            char buf[8192];
            size_t n;
            while ((n = fread(buf, 1, sizeof buf, old)) > 0) {
                had_rows = 1;
                if (fwrite(buf, 1, n, c->f) != n) bad = 1;
            }
            if (ferror(old)) bad = 1;
            fclose(old);
        }
    }
    if (bad) {
        ck_atomic_abort(&c->af);
        c->f = NULL;
        return ck_error(CK_IO_ERROR, "CSVLogger: cannot copy %s to append to it", c->filename);
    }
    c->header_done = had_rows;
    c->n_keys = 0;
    return CK_OK;
}

static ck_status csv_epoch_end(void *u, ck_model *m, int epoch, const ck_logs *logs)
{
    csv_logger *c = u;
    char buf[40];
    (void)m;
    if (!c->f) return CK_OK;
    if (c->n_keys == 0) {
        /* Keras writes the keys sorted, after "epoch". */
        for (int i = 0; i < logs->n; i++) memcpy(c->keys[c->n_keys++], logs->names[i], sizeof c->keys[0]);
        qsort(c->keys, (size_t)c->n_keys, sizeof c->keys[0], cmp_names);
    }
    if (!c->header_done) {
        fprintf(c->f, "epoch");
        for (int i = 0; i < c->n_keys; i++) fprintf(c->f, "%s%s", c->sep, c->keys[i]);
        fprintf(c->f, "\n");
        c->header_done = 1;
    }
    fprintf(c->f, "%d", epoch);
    for (int i = 0; i < c->n_keys; i++) {
        double v = ck_logs_get(logs, c->keys[i]);
        /* Keras' logs are float32 values turned into Python floats. */
        fprintf(c->f, "%s%s", c->sep, ck_float_repr((double)(float)v, buf, sizeof buf));
    }
    fprintf(c->f, "\n");
    if (fflush(c->f) != 0) return ck_error(CK_IO_ERROR, "CSVLogger: cannot write %s", c->filename);
    return CK_OK;
}

static ck_status csv_end(void *u, ck_model *m, const ck_logs *logs)
{
    csv_logger *c = u;
    (void)m, (void)logs;
    if (!c->f) return CK_OK;
    c->f = NULL;
    return ck_atomic_commit(&c->af, 0);
}

static void csv_free(void *u)
{
    csv_logger *c = u;
    ck_atomic_abort(&c->af);
    ck_free(c->filename);
    ck_free(c);
}

ck_status ck_csv_logger(ck_callback **out, const char *filename, const char *separator, bool append)
{
    CK_NEED(out);
    CK_NEED(filename);
    if (!out || !filename || !*filename) return ck_error(CK_VALUE_ERROR, "CSVLogger: a filename is required");
    csv_logger *c = ck_calloc(1, sizeof *c);
    if (!c) return ck_oom("CSVLogger");
    c->filename = ck_strdup(filename);
    snprintf(c->sep, sizeof c->sep, "%s", separator ? separator : ",");
    c->append = append;
    ck_callback_fns fns = {.on_train_begin = csv_begin, .on_epoch_end = csv_epoch_end, .on_train_end = csv_end,
                           .destroy = csv_free};
    ck_status st = c->filename ? ck_callback_new(out, &fns, c) : ck_oom("CSVLogger");
    if (st != CK_OK) csv_free(c);
    return st;
}

/* ---- ModelCheckpoint ------------------------------------------------------ */

typedef struct checkpoint {
    char *filepath;
    char monitor[64];
    int maximize;
    double best;
    bool best_only, weights_only;
    int verbose;
} checkpoint;

/* Fills Keras' "{epoch:02d}" / "{val_loss:.2f}" fields (epoch counts from
 * 1); an unknown field is a CK_VALUE_ERROR as Keras' KeyError. */
static ck_status format_path(const char *pattern, int epoch, const ck_logs *logs, char *out, size_t cap)
{
    size_t len = 0;
    for (const char *p = pattern; *p;) {
        if (*p != '{') {
            if (len + 1 < cap) out[len++] = *p;
            p++;
            continue;
        }
        const char *end = strchr(p, '}');
        if (!end) return ck_error(CK_VALUE_ERROR, "ModelCheckpoint: unbalanced '{' in %s", pattern);
        char field[64] = "", spec[16] = "";
        const char *colon = memchr(p, ':', (size_t)(end - p));
        size_t flen = (size_t)((colon ? colon : end) - p - 1);
        if (flen >= sizeof field) flen = sizeof field - 1;
        memcpy(field, p + 1, flen);
        if (colon && (size_t)(end - colon - 1) < sizeof spec) memcpy(spec, colon + 1, (size_t)(end - colon - 1));
        char piece[128], fmt[24];
        if (strcmp(field, "epoch") == 0) {
            snprintf(fmt, sizeof fmt, "%%%s", spec[0] ? spec : "d");
            if (fmt[strlen(fmt) - 1] != 'd') return ck_error(CK_VALUE_ERROR, "ModelCheckpoint: bad format {%s}", field);
            snprintf(piece, sizeof piece, fmt, epoch + 1);
        } else {
            double v = ck_logs_get(logs, field);
            if (isnan(v) && !logs) return ck_error(CK_VALUE_ERROR, "ModelCheckpoint: no log named \"%s\"", field);
            snprintf(fmt, sizeof fmt, "%%%s", spec[0] ? spec : "g");
            char last = fmt[strlen(fmt) - 1];
            if (!strchr("efgEFG", last)) return ck_error(CK_VALUE_ERROR, "ModelCheckpoint: bad format {%s:%s}", field, spec);
            snprintf(piece, sizeof piece, fmt, v);
        }
        for (const char *q = piece; *q && len + 1 < cap; q++) out[len++] = *q;
        p = end + 1;
    }
    out[len] = 0;
    return CK_OK;
}

static ck_status checkpoint_epoch_end(void *u, ck_model *m, int epoch, const ck_logs *logs)
{
    checkpoint *c = u;
    char path[4096];
    CK_TRY(format_path(c->filepath, epoch, logs, path, sizeof path));
    if (c->best_only) {
        double current = ck_logs_get(logs, c->monitor);
        if (isnan(current)) return CK_OK; /* Keras warns and skips */
        int better = c->maximize ? current > c->best : current < c->best;
        if (!better) return CK_OK;
        if (c->verbose)
            printf("\nEpoch %d: %s improved from %.5f to %.5f, saving model to %s\n", epoch + 1, c->monitor, c->best,
                   current, path);
        c->best = current;
    }
    return c->weights_only ? ck_model_save_weights(m, path) : ck_model_save(m, path);
}

static void checkpoint_free(void *u)
{
    checkpoint *c = u;
    ck_free(c->filepath);
    ck_free(c);
}

ck_status ck_model_checkpoint(ck_callback **out, const ck_model_checkpoint_opts *o)
{
    CK_NEED(out);
    if (!out || !o || !o->filepath || !*o->filepath)
        return ck_error(CK_VALUE_ERROR, "ModelCheckpoint: a filepath is required");
    const char *mode = o->mode ? o->mode : "auto";
    if (strcmp(mode, "auto") && strcmp(mode, "min") && strcmp(mode, "max"))
        return ck_error(CK_VALUE_ERROR, "ModelCheckpoint mode %s is unknown, expected one of (auto, min, max)", mode);
    checkpoint *c = ck_calloc(1, sizeof *c);
    if (!c) return ck_oom("ModelCheckpoint");
    c->filepath = ck_strdup(o->filepath);
    snprintf(c->monitor, sizeof c->monitor, "%s", o->monitor ? o->monitor : "val_loss");
    c->maximize = strcmp(mode, "max") == 0 ||
                  (strcmp(mode, "auto") == 0 && (strstr(c->monitor, "acc") || strncmp(c->monitor, "fmeasure", 8) == 0));
    c->best = c->maximize ? -INFINITY : INFINITY;
    c->best_only = o->save_best_only;
    c->weights_only = o->save_weights_only;
    c->verbose = o->verbose.set && o->verbose.value > 0;
    ck_callback_fns fns = {.on_epoch_end = checkpoint_epoch_end, .destroy = checkpoint_free};
    ck_status st = c->filepath ? ck_callback_new(out, &fns, c) : ck_oom("ModelCheckpoint");
    if (st != CK_OK) checkpoint_free(c);
    return st;
}
