/* examples/siamese_demo.c: the siamese model of ms2deepscore (tf.keras
 * 2.4, a nested model called twice and a cosine Dot): predict the cosine
 * of every (reference, query) pair of spectra and print it beside the
 * values real Keras gave.
 *
 * usage: siamese_demo MODEL.hdf5 INPUTS.txt EXPECTED.json */
#include <jansson.h>
#include <math.h>
#include <stdio.h>

#include "ckeras.h"

enum { ROWS = 4, COLS = 3, WIDTH = 339 };

static int fail(const char *what)
{
    fprintf(stderr, "siamese_demo: %s: %s\n", what, ck_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: siamese_demo MODEL.hdf5 INPUTS.txt EXPECTED.json\n");
        return 1;
    }
    static float spectra[ROWS][WIDTH], left[ROWS * COLS][WIDTH], right[ROWS * COLS][WIDTH];
    FILE *f = fopen(argv[2], "r");
    if (!f) return fprintf(stderr, "siamese_demo: cannot open %s\n", argv[2]), 1;
    for (int r = 0; r < ROWS; r++)
        for (int c = 0; c < WIDTH; c++)
            if (fscanf(f, "%f", &spectra[r][c]) != 1) return fclose(f), fprintf(stderr, "siamese_demo: bad inputs\n"), 1;
    fclose(f);
    json_error_t err;
    json_t *exp = json_load_file(argv[3], 0, &err);
    const json_t *matrix = json_object_get(exp, "expected_cosine_rows_refs0to3_cols_queries0to2");
    if (!matrix) return fprintf(stderr, "siamese_demo: bad %s\n", argv[3]), 1;

    ck_model *m = NULL;
    if (ck_model_load(argv[1], &m) != CK_OK) return fail(argv[1]);
    /* All 12 pairs in one predict call: row k = (reference i, query j). */
    for (int i = 0; i < ROWS; i++)
        for (int j = 0; j < COLS; j++)
            for (int c = 0; c < WIDTH; c++) left[i * COLS + j][c] = spectra[i][c], right[i * COLS + j][c] = spectra[j][c];
    ck_tensor *a = NULL, *b = NULL, *out = NULL;
    int64_t shape[2] = {ROWS * COLS, WIDTH};
    if (ck_tensor_wrap(&a, CK_FLOAT32, 2, shape, left) != CK_OK || ck_tensor_wrap(&b, CK_FLOAT32, 2, shape, right) != CK_OK)
        return fail("inputs");
    if (ck_model_predict(m, 2, (ck_tensor *[]){a, b}, &out, 0) != CK_OK) return fail("predict");

    printf("Cosine similarity of reference spectrum i (rows) and query spectrum j (columns):\n");
    printf("        %-24s %-24s %-24s\n", "query 0", "query 1", "query 2");
    printf("        %-24s %-24s %-24s\n", "ckeras      Keras", "ckeras      Keras", "ckeras      Keras");
    double worst = 0;
    for (int i = 0; i < ROWS; i++) {
        printf("ref %d  ", i);
        for (int j = 0; j < COLS; j++) {
            double got = ((float *)out->data)[i * COLS + j];
            double want = json_number_value(json_array_get(json_array_get(matrix, (size_t)i), (size_t)j));
            if (fabs(got - want) > worst) worst = fabs(got - want);
            printf(" %.8f  %.8f  ", got, want);
        }
        printf("\n");
    }
    printf("max |ckeras - Keras| = %.2e (Keras' own test allows 1e-6)\n", worst);
    ck_tensor_free(a); ck_tensor_free(b); ck_tensor_free(out);
    ck_model_free(m);
    json_decref(exp);
    return worst <= 1e-5 ? 0 : 1;
}
