/* ckeras batch-dot X.npy Y.npy [--axes=A | --axes=A,B] -o OUT.npy */
#include <string.h>

#include "cli/cli.h"

static int run(int argc, char **argv)
{
    const char *inputs[2] = {NULL, NULL}, *out_path = NULL, *v;
    int n_inputs = 0;
    ck_axes axes = {0, {0, 0}};
    for (int i = 1; i < argc; i++) {
        if ((v = ck_cli_option(argc, argv, &i, "axes"))) {
            if (ck_cli_parse_axes(v, &axes) != 0)
                return ck_cli_fail("bad --axes value '%s': expected an int A or a pair A,B", v);
        } else if (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) {
            if (i + 1 >= argc) return ck_cli_fail("-o needs a file name");
            out_path = argv[++i];
        } else if (strncmp(argv[i], "--output=", 9) == 0) {
            out_path = argv[i] + 9;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return ck_cli_fail("batch-dot: unknown option '%s'", argv[i]);
        } else if (n_inputs < 2) {
            inputs[n_inputs++] = argv[i];
        } else {
            return ck_cli_fail("batch-dot takes exactly two input files, got a third: '%s'", argv[i]);
        }
    }
    if (n_inputs != 2) return ck_cli_fail("batch-dot needs two input files X.npy Y.npy");
    if (!out_path) return ck_cli_fail("batch-dot needs an output file: -o OUT.npy");

    ck_tensor *x = NULL, *y = NULL, *r = NULL;
    ck_status st = ck_npy_load(inputs[0], &x);
    if (st == CK_OK) st = ck_npy_load(inputs[1], &y);
    if (st == CK_OK) st = ck_batch_dot(x, y, axes, &r);
    if (st == CK_OK) st = ck_cli_save_npy(out_path, r);
    ck_tensor_free(x);
    ck_tensor_free(y);
    ck_tensor_free(r);
    return st == CK_OK ? 0 : ck_cli_fail_status(st);
}

const ck_cli_command ck_cmd_batch_dot = {
    "batch-dot",
    "tf.keras backend.batch_dot of two .npy files",
    "usage: ckeras batch-dot X.npy Y.npy [--axes=A | --axes=A,B] -o OUT.npy\n\n"
    "Computes tf.keras 2.x backend.batch_dot(x, y, axes) and writes the result as\n"
    ".npy.  Without --axes the Keras default is used: the last axis of x against\n"
    "the second-to-last axis of y (the last one if y has rank 2).  A negative\n"
    "axis counts from the end; axis 0 (the batch axis) is an error.  Both inputs\n"
    "must have the same dtype (float32, float64, int32 or int64) and rank >= 2.\n\n"
    "  --axes=A      contract axis A of both inputs\n"
    "  --axes=A,B    contract axis A of x with axis B of y\n"
    "  -o OUT.npy    output file (not created on error); -o - writes to stdout\n",
    run,
};
