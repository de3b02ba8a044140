/* ckeras apply CONFIG.json IN.npy [IN2.npy] [--weights W0.npy,...] [--seed N] -o OUT.npy */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "io/model_io.h"

/* Loads the comma-separated weight files and sets them on the layer. */
static ck_status set_weight_files(ck_layer *layer, const char *list)
{
    enum { MAX_WEIGHTS = 64 };
    ck_tensor *w[MAX_WEIGHTS];
    int n = 0;
    ck_status st = CK_OK;
    char *copy = ck_strdup(list);
    if (!copy) return ck_error(CK_OUT_OF_MEMORY, "out of memory");
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok && st == CK_OK;
         tok = strtok_r(NULL, ",", &save)) {
        if (n == MAX_WEIGHTS) st = ck_error(CK_VALUE_ERROR, "more than %d weight files", MAX_WEIGHTS);
        else if ((st = ck_npy_load(tok, &w[n])) == CK_OK) n++;
    }
    if (st == CK_OK) st = ck_layer_set_weights(layer, n, w);
    for (int i = 0; i < n; i++) ck_tensor_free(w[i]);
    ck_free(copy);
    return st;
}

static int run(int argc, char **argv)
{
    const char *config_path = NULL, *inputs[2] = {NULL, NULL}, *weights = NULL, *out_path = NULL, *v;
    int n_inputs = 0;
    for (int i = 1; i < argc; i++) {
        if ((v = ck_cli_option(argc, argv, &i, "weights"))) {
            weights = v;
        } else if ((v = ck_cli_option(argc, argv, &i, "seed"))) {
            char *end;
            errno = 0;
            unsigned long long seed = strtoull(v, &end, 10);
            if (*v == '\0' || *end != '\0' || errno || *v == '-')
                return ck_cli_fail("bad --seed value '%s': expected a non-negative integer", v);
            ck_set_random_seed(seed);
        } else if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) {
            if (i + 1 >= argc) return ck_cli_fail("-o needs a file name");
            out_path = argv[++i];
        } else if (strncmp(argv[i], "--output=", 9) == 0) {
            out_path = argv[i] + 9;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return ck_cli_fail("apply: unknown option '%s'", argv[i]);
        } else if (!config_path) {
            config_path = argv[i];
        } else if (n_inputs < 2) {
            inputs[n_inputs++] = argv[i];
        } else {
            return ck_cli_fail("apply takes at most two input files, got a third: '%s'", argv[i]);
        }
    }
    if (!config_path || n_inputs == 0) return ck_cli_fail("apply needs CONFIG.json and at least one input .npy");
    if (!out_path) return ck_cli_fail("apply needs an output file: -o OUT.npy");

    ck_layer *layer = NULL;
    ck_tensor *in[2] = {NULL, NULL}, *out = NULL;
    ck_status st = CK_OK;
    char *text = ck_read_text_file(config_path);
    if (!text) st = ck_last_status();
    if (st == CK_OK) st = ck_layer_from_config(text, &layer);
    for (int i = 0; st == CK_OK && i < n_inputs; i++) st = ck_npy_load(inputs[i], &in[i]);
    if (st == CK_OK && !ck_layer_built(layer)) {
        ck_shape shapes[2];
        for (int i = 0; i < n_inputs; i++) {
            shapes[i].rank = in[i]->rank;
            for (int d = 0; d < in[i]->rank; d++) shapes[i].dims[d] = in[i]->shape[d];
        }
        st = ck_layer_build(layer, n_inputs, shapes);
    }
    if (st == CK_OK && weights) st = set_weight_files(layer, weights);
    if (st == CK_OK) st = ck_layer_call(layer, n_inputs, in, &out);
    if (st == CK_OK) st = ck_cli_save_npy(out_path, out);
    ck_free(text);
    ck_tensor_free(in[0]);
    ck_tensor_free(in[1]);
    ck_tensor_free(out);
    ck_layer_free(layer);
    return st == CK_OK ? 0 : ck_cli_fail_status(st);
}

const ck_cli_command ck_cmd_apply = {
    "apply",
    "make a layer from a Keras config and call it on .npy inputs",
    "usage: ckeras apply CONFIG.json IN.npy [IN2.npy] [--weights W0.npy,W1.npy,...]\n"
    "                    [--seed N] -o OUT.npy\n\n"
    "Creates the layer described by a Keras layer config ({\"class_name\": ...,\n"
    "\"config\": {...}}, tf.keras 2.x or Keras 3 form), builds it for the input\n"
    "shapes, sets the given weights (in get_weights order: Dense kernel then\n"
    "bias) or else initialises them, calls it and writes the output.  A Dot takes\n"
    "two inputs.  Inputs reach the layer as Keras' layer call takes them:\n"
    "floats are cast to the layer's dtype, integers stay integers unless the\n"
    "layer casts them (Dense does; Dot of int32 gives int32, as TF.js).\n\n"
    "  --weights LIST  comma-separated .npy files, one per weight\n"
    "  --seed N        seed for the initializers (like tf.random.set_seed)\n"
    "  -o OUT.npy      output file (not created on error); -o - writes to stdout\n",
    run,
};
