/* Model files with their training state: ck_model_load compiles a model
 * from the training config its file holds and restores the optimizer's
 * variables; ck_model_save / ck_model_save_weights write a compiled model's
 * training config and optimizer variables as tf.keras 2.15 does.  The io/
 * floor reads and writes these pieces as plain data; compiling and
 * building optimizers is this floor's job, so the public entry points live
 * here. */
#include <string.h>

#include "core/json.h"
#include "io/atomic_file.h"
#include "io/model_io.h"
#include "train/trainer.h"

/* ---- loading ---------------------------------------------------------------- */

/* The model variable names ("dense/kernel:0") of the trainer's variables,
 * borrowed; ck_free the array. */
static const char **var_names(const ck_trainer *t)
{
    const char **names = ck_calloc((size_t)(t->n_vars ? t->n_vars : 1), sizeof *names);
    for (int i = 0; names && i < t->n_vars; i++) names[i] = ck_weight_name(t->vars[i]);
    return names;
}

/* How many variables this optimizer has for the trainer's variables once
 * built (iterations + slots), in tf.keras 2.11+'s layout. */
static ck_status expected_count(const ck_trainer *t, int *n)
{
    const char **vn = var_names(t);
    if (!vn) return ck_oom("the optimizer variables");
    char **names = NULL;
    ck_status st = ck_optimizer_weight_names(t->optimizer, t->n_vars, vn, &names, n);
    for (int i = 0; st == CK_OK && i < *n; i++) ck_free(names[i]);
    ck_free(names);
    ck_free(vn);
    return st;
}

/* Restores the saved optimizer variables into the compiled model's
 * optimizer (Keras: optimizer.build(model.trainable_variables), then
 * set_weights / load_own_variables, both by position).  Layouts:
 *   tf.keras 2.11+ (.h5 "iteration:0", ...; .keras optimizer/vars/<i>):
 *     iterations, then the slots in optimizer.variables order;
 *   Keras 3: iterations, learning_rate (absent with a schedule), slots.
 * Legacy optimizer_v2 files (tf.keras <= 2.10, "Adam/iter:0") keep their
 * slots grouped by kind, which is not the new optimizers' order: their
 * state is not restored (CK_NOT_IMPLEMENTED), as tf.keras 2.11+ cannot
 * restore it into a new optimizer either. */
static ck_status restore_optimizer(ck_model *m, const ck_saved_training *tr)
{
    ck_trainer *t = m->trainer;
    int expect = 0;
    CK_TRY(expected_count(t, &expect));
    int n = tr->n_opt;
    const char *first = tr->opt_names[0];
    if (!tr->keras3 && strcmp(first, "iteration:0") != 0 && strncmp(first, "optimizer/vars/", 15) != 0)
        return ck_error(CK_NOT_IMPLEMENTED, "the optimizer state was saved by a legacy optimizer (\"%s\"); "
                        "training starts from a fresh optimizer", first);
    ck_tensor **vals = ck_calloc((size_t)n, sizeof *vals);
    if (!vals) return ck_oom("the optimizer variables");
    int k = 0;
    const ck_tensor *lr = NULL;
    for (int i = 0; i < n; i++) {
        /* Keras 3's learning_rate variable: a scalar right after the
         * iterations when there is one more variable than slots. */
        if (tr->keras3 && i == 1 && n == expect + 1 && tr->opt_values[1]->size == 1 &&
            tr->opt_values[1]->rank == 0) {
            lr = tr->opt_values[1];
            continue;
        }
        vals[k++] = tr->opt_values[i];
    }
    ck_status st = ck_optimizer_set_weights(t->optimizer, t->n_vars, t->var_values, k, vals);
    ck_free(vals);
    if (st == CK_OK && lr) st = ck_optimizer_set_learning_rate(t->optimizer, ck_tensor_get(lr, 0));
    return st;
}

/* Compiles from the file's config and restores the optimizer.  A config
 * ckeras cannot follow leaves the model uncompiled; an optimizer state
 * that does not fit leaves it compiled with a fresh optimizer, which is
 * what tf.keras does (with a warning) in both cases. */
static void compile_from_file(ck_model *m, const ck_saved_training *tr)
{
    const char *config = tr->training_config ? tr->training_config : tr->compile_config;
    if (!config) return;
    if (ck_model_compile_json(m, config) != CK_OK) {
        ck_clear_error();
        return;
    }
    if (tr->n_opt > 0 && restore_optimizer(m, tr) != CK_OK) {
        ck_clear_error();
        /* set_weights changes nothing on error, but the learning rate may
         * have failed after it: start over from the config. */
        if (ck_model_compile_json(m, config) != CK_OK) ck_clear_error();
    }
}

ck_status ck_model_load(const char *path, ck_model **out)
{
    CK_NEED(path);
    CK_NEED(out);
    if (!path || !out) return ck_error(CK_VALUE_ERROR, "ck_model_load: NULL argument");
    ck_saved_training tr;
    memset(&tr, 0, sizeof tr);
    ck_model *m = NULL;
    unsigned long before = ck_alloc_failures();
    ck_status st = ck_io_model_load(path, &m, &tr);
    if (st != CK_OK) return ck_alloc_verdict(before, st, "loading a model");
    compile_from_file(m, &tr);
    /* Keep the text for ck_model_saved_training_config. */
    if (tr.training_config) {
        m->saved_training_config = tr.training_config;
        tr.training_config = NULL;
    } else if (tr.compile_config) {
        m->saved_training_config = tr.compile_config;
        tr.compile_config = NULL;
    }
    ck_saved_training_clear(&tr);
    /* a failure jansson hid, or one that left the model uncompiled */
    st = ck_alloc_verdict(before, CK_OK, "loading a model");
    if (st != CK_OK) {
        ck_model_free(m);
        return st;
    }
    *out = m;
    return CK_OK;
}

const char *ck_model_saved_training_config(const ck_model *m) {
    CK_NEED_OR(m, NULL);
    return m ? m->saved_training_config : NULL;
}

/* ---- saving ----------------------------------------------------------------- */

/* The training pieces of a compiled model: both config forms, and the
 * optimizer's variables with the names tf.keras gives them in an .h5
 * file.  An uncompiled model has none. */
static ck_status gather(ck_model *m, ck_saved_training *tr)
{
    memset(tr, 0, sizeof *tr);
    ck_trainer *t = m->trainer;
    if (!t) return CK_OK;
    CK_TRY(ck_model_training_config(m, &tr->training_config));
    CK_TRY(ck_trainer_compile_config(m, &tr->compile_config));
    ck_tensor **values = NULL;
    int n = 0;
    CK_TRY(ck_optimizer_get_weights(t->optimizer, &values, &n));
    tr->opt_values = values;
    tr->n_opt = n;
    const char **vn = var_names(t);
    if (!vn) return ck_oom("saving");
    char **names = NULL;
    int n_names = 0;
    ck_status st = ck_optimizer_weight_names(t->optimizer, t->n_vars, vn, &names, &n_names);
    ck_free(vn);
    if (st != CK_OK) return st;
    /* Before the first step the optimizer has only its iterations, as in
     * tf.keras: the names of the slots to come are dropped. */
    for (int i = n; i < n_names; i++) ck_free(names[i]);
    if (n_names < n) {
        for (int i = 0; i < n_names; i++) ck_free(names[i]);
        ck_free(names);
        return ck_error(CK_RUNTIME_ERROR, "saving: the optimizer has %d variables but %d names", n, n_names);
    }
    tr->opt_names = names;
    return CK_OK;
}

ck_status ck_model_save(ck_model *m, const char *path)
{
    CK_NEED(m);
    CK_NEED(path);
    if (!m || !path) return ck_error(CK_VALUE_ERROR, "ck_model_save: NULL argument");
    ck_saved_training tr;
    unsigned long before = ck_alloc_failures();
    ck_atomic_guard_begin(); /* no file from text jansson truncated */
    ck_status st = gather(m, &tr);
    if (st == CK_OK) st = ck_io_model_save(m, path, m->trainer ? &tr : NULL);
    ck_atomic_guard_end();
    ck_saved_training_clear(&tr);
    return ck_alloc_verdict(before, st, "saving a model");
}

ck_status ck_model_save_weights(ck_model *m, const char *path)
{
    CK_NEED(m);
    CK_NEED(path);
    if (!m || !path) return ck_error(CK_VALUE_ERROR, "ck_model_save_weights: NULL argument");
    ck_saved_training tr;
    unsigned long before = ck_alloc_failures();
    ck_atomic_guard_begin(); /* no file from text jansson truncated */
    ck_status st = gather(m, &tr);
    if (st == CK_OK) st = ck_io_model_save_weights(m, path, m->trainer ? &tr : NULL);
    ck_atomic_guard_end();
    ck_saved_training_clear(&tr);
    return ck_alloc_verdict(before, st, "saving a model");
}
