/* fit / evaluate: arguments, the model with its compile settings, the data.
 *
 * Compile settings come from two places: the model file's training config
 * (ck_model_load compiles from it) and --loss / --optimizer / --metrics.
 * Given pieces override the file's, as if the Python user had called
 * model.compile again with those arguments and the file's others. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/train_args.h"
#include "core/core.h"

/* --NAME VALUE or --NAME=VALUE: 1 and *v set; 0 if argv[*i] is another
 * argument; -1 if the value is missing (the error is printed). */
static int take(int argc, char **argv, int *i, const char *name, const char **v)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, n) != 0 || (a[2 + n] != '=' && a[2 + n] != '\0')) return 0;
    if ((*v = ck_cli_option(argc, argv, i, name)) != NULL) return 1;
    ck_cli_fail("--%s needs a value", name);
    return -1;
}

/* A whole decimal integer in [lo, hi]; 0 on success. */
static int parse_int(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_number(const char *name, const char *v, ck_cli_train_args *a)
{
    long long n = 0;
    if (!strcmp(name, "epochs")) {
        if (parse_int(v, 1, 1000000000, &n)) return ck_cli_fail("bad --epochs '%s': expected a positive integer", v);
        a->epochs = (int)n;
    } else if (!strcmp(name, "batch-size")) {
        if (parse_int(v, 1, (long long)1 << 40, &n))
            return ck_cli_fail("bad --batch-size '%s': expected a positive integer", v);
        a->batch_size = n;
    } else if (!strcmp(name, "seed")) {
        if (parse_int(v, 0, INT64_MAX, &n)) return ck_cli_fail("bad --seed '%s': expected an integer >= 0", v);
        a->seed = ck_int(n);
    } else {
        char *end;
        errno = 0;
        double f = strtod(v, &end);
        if (end == v || *end || errno || !(f >= 0 && f < 1))
            return ck_cli_fail("bad --validation-split '%s': expected a number in [0, 1)", v);
        a->validation_split = f;
    }
    return 0;
}

int ck_cli_train_parse(int argc, char **argv, int is_fit, ck_cli_train_args *a)
{
    static const char *const fit_only[] = {"optimizer", "epochs", "seed", "validation-split", "history"};
    memset(a, 0, sizeof *a);
    a->cmd = is_fit ? "fit" : "evaluate";
    for (int i = 1; i < argc; i++) {
        const char *v = NULL, *arg = argv[i];
        int r = 0;
        if ((r = take(argc, argv, &i, "weights", &v))) a->weights = v;
        else if ((r = take(argc, argv, &i, "y", &v)) == 1) {
            if (a->n_y == CK_CLI_MAX_IO) return ck_cli_fail("%s: more than %d --y files", a->cmd, CK_CLI_MAX_IO);
            a->y[a->n_y++] = v;
        } else if (r == 0 && (r = take(argc, argv, &i, "loss", &v))) a->loss = v;
        else if (r == 0 && (r = take(argc, argv, &i, "metrics", &v))) a->metrics = v;
        else if (r == 0 && (r = take(argc, argv, &i, "batch-size", &v)) == 1) {
            if (parse_number("batch-size", v, a)) return 1;
        }
        if (r < 0) return 1;
        if (r) continue;
        for (size_t k = 0; is_fit && !r && k < sizeof fit_only / sizeof fit_only[0]; k++) {
            if ((r = take(argc, argv, &i, fit_only[k], &v)) != 1) continue;
            if (!strcmp(fit_only[k], "optimizer")) a->optimizer = v;
            else if (!strcmp(fit_only[k], "history")) a->history = v;
            else if (parse_number(fit_only[k], v, a)) return 1;
        }
        if (r < 0) return 1;
        if (r) continue;
        if (is_fit && !strcmp(arg, "--no-shuffle")) {
            a->no_shuffle = true;
        } else if (is_fit && (!strcmp(arg, "-o") || !strcmp(arg, "--output"))) {
            if (i + 1 >= argc) return ck_cli_fail("-o needs a file name");
            a->out = argv[++i];
        } else if (arg[0] == '-' && arg[1]) {
            return ck_cli_fail("%s: unknown option '%s' (see 'ckeras %s --help')", a->cmd, arg, a->cmd);
        } else if (!a->model) {
            a->model = arg;
        } else if (a->n_x < CK_CLI_MAX_IO) {
            a->x[a->n_x++] = arg;
        } else {
            return ck_cli_fail("%s: more than %d input files", a->cmd, CK_CLI_MAX_IO);
        }
    }
    if (!a->model || a->n_x == 0)
        return ck_cli_fail("%s needs MODEL and at least one input X.npy (see 'ckeras %s --help')", a->cmd, a->cmd);
    if (a->n_y == 0) return ck_cli_fail("%s needs the targets: --y Y.npy, one per model output", a->cmd);
    if (is_fit && !a->out) return ck_cli_fail("fit needs -o OUT.h5|OUT.keras|OUT.json for the trained model");
    if (is_fit) {
        const char *dot = strrchr(a->out, '.');
        if (!dot || (strcmp(dot, ".h5") && strcmp(dot, ".hdf5") && strcmp(dot, ".keras") && strcmp(dot, ".json")))
            return ck_cli_fail("fit: -o '%s' must end in .h5, .keras or .json", a->out);
    }
    return 0;
}

/* ---- splitting at top-level commas ---------------------------------------- */

void ck_cli_free_parts(char **parts, int n)
{
    for (int i = 0; parts && i < n; i++) ck_free(parts[i]);
    ck_free(parts);
}

static ck_status add_part(const char *s, size_t len, const char *what, char ***parts, int *n)
{
    while (len && (*s == ' ' || *s == '\t')) s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
    if (len == 0) return ck_error(CK_VALUE_ERROR, "%s has an empty entry", what);
    char **grown = ck_realloc(*parts, (size_t)(*n + 1) * sizeof *grown);
    if (!grown) return ck_oom(what);
    *parts = grown;
    char *copy = ck_malloc(len + 1);
    if (!copy) return ck_oom(what);
    memcpy(copy, s, len);
    copy[len] = '\0';
    grown[(*n)++] = copy;
    return CK_OK;
}

ck_status ck_cli_split_top(const char *text, const char *what, char ***parts, int *n)
{
    char **out = NULL;
    int count = 0, depth = 0, in_str = 0;
    const char *start = text;
    ck_status st = CK_OK;
    for (const char *p = text; st == CK_OK; p++) {
        if (in_str) {
            if (*p == '\\' && p[1]) p++;
            else if (*p == '"') in_str = 0;
            else if (!*p) break;
            continue;
        }
        if (*p == '"') in_str = 1;
        else if (*p == '{' || *p == '[') depth++;
        else if ((*p == '}' || *p == ']') && --depth < 0) break;
        else if ((*p == ',' && depth == 0) || !*p) {
            st = add_part(start, (size_t)(p - start), what, &out, &count);
            start = p + 1;
            if (!*p) break;
        }
    }
    if (st == CK_OK && (in_str || depth != 0))
        st = ck_error(CK_VALUE_ERROR, "%s: unbalanced brackets or quotes in '%s'", what, text);
    if (st != CK_OK) {
        ck_cli_free_parts(out, count);
        return st;
    }
    *parts = out;
    *n = count;
    return CK_OK;
}

/* ---- compile settings ------------------------------------------------------ */

/* A name or JSON text as a JSON value. */
static ck_status spec_value(const char *text, const char *what, json_t **out)
{
    const char *p = text;
    while (*p == ' ') p++;
    if (*p == '{' || *p == '[' || *p == '"') {
        json_error_t err;
        *out = json_loads(p, JSON_DECODE_ANY, &err);
        if (!*out) return ck_error(CK_VALUE_ERROR, "%s: not valid JSON: %s: %s", what, err.text, text);
    } else {
        *out = json_string(p);
        if (!*out) return ck_oom(what);
    }
    return CK_OK;
}

/* The given pieces over the file's training config, then compile. */
static ck_status compile_merged(ck_model *m, const char *saved, const ck_cli_train_args *a, char **losses,
                                int n_loss, char **metrics, int n_metrics)
{
    json_error_t err;
    json_t *c = json_loads(saved, 0, &err), *v = NULL;
    if (!c || !json_is_object(c)) {
        json_decref(c);
        return ck_error(CK_FORMAT_ERROR, "%s: the file's training config is not a JSON object", a->model);
    }
    ck_status st = CK_OK;
    if (n_loss == 1) {
        st = spec_value(losses[0], "--loss", &v);
    } else if (n_loss > 1) {
        v = json_array();
        for (int i = 0; v && st == CK_OK && i < n_loss; i++) {
            json_t *one = NULL;
            st = spec_value(losses[i], "--loss", &one);
            if (st == CK_OK && json_array_append_new(v, one)) st = ck_oom("--loss");
        }
        if (!v) st = ck_oom("--loss");
    }
    if (st == CK_OK && v && json_object_set(c, "loss", v)) st = ck_oom("--loss");
    json_decref(v);
    v = NULL;
    if (st == CK_OK && a->optimizer) {
        st = spec_value(a->optimizer, "--optimizer", &v);
        json_object_del(c, "optimizer");
        if (st == CK_OK && json_object_set(c, "optimizer_config", v)) st = ck_oom("--optimizer");
        json_decref(v);
        v = NULL;
    }
    if (st == CK_OK && n_metrics > 0) {
        v = json_array();
        for (int i = 0; v && st == CK_OK && i < n_metrics; i++) {
            json_t *one = NULL;
            st = spec_value(metrics[i], "--metrics", &one);
            if (st == CK_OK && json_array_append_new(v, one)) st = ck_oom("--metrics");
        }
        if (!v) st = ck_oom("--metrics");
        json_object_del(c, "weighted_metrics");
        if (st == CK_OK && json_object_set(c, "metrics", v)) st = ck_oom("--metrics");
        json_decref(v);
    }
    char *text = st == CK_OK ? json_dumps(c, JSON_COMPACT) : NULL;
    if (st == CK_OK && !text) st = ck_oom("the training config");
    if (st == CK_OK) st = ck_model_compile_json(m, text);
    free(text);
    json_decref(c);
    return st;
}

/* No --loss and no usable training config in the file: say what to give. */
static ck_status no_loss(ck_model *m, const ck_cli_train_args *a)
{
    const char *saved = ck_model_saved_training_config(m);
    if (!saved)
        return ck_error(CK_VALUE_ERROR, "%s has no training config: give --loss (a Keras loss such as mse or "
                        "sparse_categorical_crossentropy)%s", a->model, a->optimizer ? "" : " and --optimizer");
    /* Compiling again brings back the reason the load dropped. */
    if (ck_model_compile_json(m, saved) == CK_OK) return CK_OK;
    char why[1024];
    snprintf(why, sizeof why, "%s", ck_last_error());
    return ck_error(CK_VALUE_ERROR, "%s: its training config cannot be used (%s): give --loss%s", a->model, why,
                    a->optimizer ? "" : " and --optimizer");
}

static ck_status settle_compile(ck_model *m, const ck_cli_train_args *a)
{
    char **losses = NULL, **metrics = NULL;
    int n_loss = 0, n_metrics = 0;
    ck_status st = CK_OK;
    if (a->loss) st = ck_cli_split_top(a->loss, "--loss", &losses, &n_loss);
    if (st == CK_OK && a->metrics) st = ck_cli_split_top(a->metrics, "--metrics", &metrics, &n_metrics);
    int n_out = ck_model_output_count(m);
    if (st == CK_OK && n_loss > 1 && n_loss != n_out)
        st = ck_error(CK_VALUE_ERROR, "--loss gives %d losses, but model \"%s\" has %d output%s (give one loss for "
                      "all, or one per output)", n_loss, ck_model_name(m), n_out, n_out == 1 ? "" : "s");
    int given = a->loss || a->optimizer || a->metrics;
    const char *saved = ck_model_saved_training_config(m);
    if (st != CK_OK || (!given && ck_model_compiled(m))) {
        /* the file's own settings, or an error already */
    } else if (ck_model_compiled(m) && saved) {
        st = compile_merged(m, saved, a, losses, n_loss, metrics, n_metrics);
    } else if (!a->loss) {
        st = no_loss(m, a);
    } else {
        ck_compile_opts o = {
            .optimizer = a->optimizer,
            .loss = n_loss == 1 ? losses[0] : NULL,
            .losses = n_loss > 1 ? (const char *const *)losses : NULL,
            .metrics = (const char *const *)metrics,
            .n_metrics = n_metrics,
        };
        st = ck_model_compile(m, &o);
    }
    ck_cli_free_parts(losses, n_loss);
    ck_cli_free_parts(metrics, n_metrics);
    return st;
}

ck_status ck_cli_train_model(const ck_cli_train_args *a, ck_model **out)
{
    ck_model *m = NULL;
    ck_status st = ck_model_load(a->model, &m);
    if (st != CK_OK) return st;
    if (a->weights) st = ck_model_load_weights(m, a->weights, 0);
    if (st == CK_OK) st = settle_compile(m, a);
    if (st != CK_OK) {
        ck_model_free(m);
        return st;
    }
    *out = m;
    return CK_OK;
}

ck_status ck_cli_train_data(const ck_cli_train_args *a, ck_model *m, ck_tensor **x, ck_tensor **y)
{
    int n_in = ck_model_input_count(m), n_out = ck_model_output_count(m);
    if (a->n_x != n_in)
        return ck_error(CK_VALUE_ERROR, "model \"%s\" has %d input%s, %d X file%s given", ck_model_name(m), n_in,
                        n_in == 1 ? "" : "s", a->n_x, a->n_x == 1 ? "" : "s");
    if (a->n_y != n_out)
        return ck_error(CK_VALUE_ERROR, "model \"%s\" has %d output%s, %d --y file%s given", ck_model_name(m), n_out,
                        n_out == 1 ? "" : "s", a->n_y, a->n_y == 1 ? "" : "s");
    ck_status st = CK_OK;
    /* Keras casts what a model is fed to its Inputs' dtypes. */
    for (int i = 0; st == CK_OK && i < a->n_x; i++) st = ck_cli_load_input(a->x[i], ck_model_input(m, i)->dtype, &x[i]);
    for (int i = 0; st == CK_OK && i < a->n_y; i++) st = ck_npy_load(a->y[i], &y[i]);
    if (st != CK_OK)
        for (int i = 0; i < CK_CLI_MAX_IO; i++) {
            ck_tensor_free(x[i]);
            ck_tensor_free(y[i]);
            x[i] = y[i] = NULL;
        }
    return st;
}
