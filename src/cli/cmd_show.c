/* ckeras show FILE.npy: prints an array the way numpy does. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void print_value(const ck_tensor *t, int64_t i)
{
    if (ck_dtype_is_floating(t->dtype)) printf("%.8g", ck_tensor_get(t, i));
    else printf("%lld", (long long)(t->dtype == CK_INT64 ? ((const int64_t *)t->data)[i]
                                                          : ((const int32_t *)t->data)[i]));
}

static void print_nested(const ck_tensor *t, int dim, int64_t offset, int64_t stride, int indent)
{
    if (t->rank == 0) {
        print_value(t, 0);
        return;
    }
    putchar('[');
    int64_t n = t->shape[dim], inner = stride / (n ? n : 1);
    for (int64_t i = 0; i < n; i++) {
        if (dim + 1 == t->rank) {
            if (i) printf(", ");
            print_value(t, offset + i);
        } else {
            if (i) printf(",\n%*s", indent + 1, "");
            print_nested(t, dim + 1, offset + i * inner, inner, indent + 1);
        }
    }
    putchar(']');
}

static int run(int argc, char **argv)
{
    if (argc != 2) return ck_cli_fail("show needs exactly one .npy file");
    ck_tensor *t = NULL;
    ck_status st = ck_npy_load(argv[1], &t);
    if (st != CK_OK) return ck_cli_fail_status(st);
    char shape[128];
    fprintf(stderr, "%s: %s %s\n", argv[1], ck_dtype_name(t->dtype), ck_shape_str(shape, sizeof shape, t->rank, t->shape));
    print_nested(t, 0, 0, t->size, 0);
    putchar('\n');
    ck_tensor_free(t);
    return 0;
}

const ck_cli_command ck_cmd_show = {
    "show",
    "print the contents of a .npy file",
    "usage: ckeras show FILE.npy\n\n"
    "Prints the array as nested lists on stdout (dtype and shape on stderr).\n",
    run,
};
