/* ckeras' own HDF5 reader (src/io/h5/) on hostile input: every hostile
 * file (hostile/h5, the h5 inside hostile/keras archives), truncations and
 * byte mutations of files written through libhdf5 (support/h5_test_files.c)
 * end in CK_OK or CK_FORMAT_ERROR within a second each, under the
 * sanitizers.  Agreement with libhdf5: test_h5_reader_libhdf5.c. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zip.h>

#include "io/h5/h5.h"
#include "support/h5_test_files.h"
#include "support/support.h"

/* ------------------------------------------------------------------------ */
/* hostile input                                                             */
/* ------------------------------------------------------------------------ */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct hostile {
    int files, ok, refused;
    double worst;
} hostile;

/* Opens and walks an image: CK_OK or CK_FORMAT_ERROR, never anything else,
 * within a second. */
static void run_image(hostile *h, const void *buf, size_t len, const char *what)
{
    double t0 = now();
    ck_h5r *f = NULL;
    char *text = NULL;
    ck_status st = ck_h5r_open_memory(&f, buf, len, what);
    if (st == CK_OK) st = ck_h5r_dump(f, &text);
    ck_free(text);
    ck_h5r_close(f);
    double dt = now() - t0;
    cr_expect(st == CK_OK || st == CK_FORMAT_ERROR, "%s: %s: %s", what, ck_status_name(st), ck_last_error());
    cr_expect_lt(dt, 1.0, "%s took %.2f s", what, dt);
    h->files++;
    if (st == CK_OK) h->ok++;
    else h->refused++;
    if (dt > h->worst) h->worst = dt;
}

static void *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    cr_assert_not_null(fp, "%s", path);
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    void *b = malloc(n > 0 ? (size_t)n : 1);
    *len = fread(b, 1, (size_t)(n > 0 ? n : 0), fp);
    fclose(fp);
    return b;
}

static int any_name(const char *n) { (void)n; return 1; }
static int is_keras_name(const char *n)
{
    size_t l = strlen(n);
    return l > 6 && strcmp(n + l - 6, ".keras") == 0;
}

static void hostile_h5(const char *path, void *ctx)
{
    size_t len = 0;
    void *b = slurp(path, &len);
    run_image(ctx, b, len, path);
    free(b);
}

static void hostile_keras(const char *path, void *ctx)
{
    int err = 0;
    zip_t *z = zip_open(path, ZIP_RDONLY, &err);
    if (!z) return;
    zip_int64_t n = zip_get_num_entries(z, 0);
    for (zip_int64_t i = 0; i < n; i++) {
        const char *name = zip_get_name(z, (zip_uint64_t)i, 0);
        if (!name || !ck_test_is_h5_name(name)) continue;
        zip_stat_t zs;
        if (zip_stat_index(z, (zip_uint64_t)i, 0, &zs) != 0 || zs.size > ((zip_uint64_t)64 << 20)) continue;
        zip_file_t *zf = zip_fopen_index(z, (zip_uint64_t)i, 0);
        if (!zf) continue;
        void *b = malloc(zs.size ? zs.size : 1);
        zip_int64_t got = zip_fread(zf, b, zs.size);
        zip_fclose(zf);
        if (got >= 0) {
            char what[4096];
            snprintf(what, sizeof what, "%s:%s", path, name);
            run_image(ctx, b, (size_t)got, what);
        }
        free(b);
    }
    zip_close(z);
}

Test(h5_reader, hostile_files_end_cleanly)
{
    const char *h5 = ck_test_shared("hostile/h5");
    if (!h5) cr_skip_test("../shared is absent");
    hostile h = {0, 0, 0, 0};
    ck_test_walk_dir(h5, any_name, hostile_h5, &h);
    hostile k = {0, 0, 0, 0};
    ck_test_walk_dir(ck_test_shared("hostile/keras"), is_keras_name, hostile_keras, &k);
    hostile_h5(ck_test_shared("hostile/stack_overflow_nested_seq_500.h5"), &h);
    cr_log_info("hostile h5: %d files, %d read, %d refused, slowest %.3f s; inside .keras: %d h5, %d read, "
                "%d refused, slowest %.3f s", h.files, h.ok, h.refused, h.worst, k.files, k.ok,
                k.refused, k.worst);
    cr_expect_geq(h.files, 93);
    cr_expect_gt(k.files, 0);
}

/* Every prefix of a real file (in steps), and random byte changes. */
Test(h5_reader, truncated_and_mutated_files_end_cleanly)
{
    char *files[2] = {NULL, NULL};
    files[0] = strdup(ck_test_tmp("h5r_latest_m.h5"));
    ck_test_h5_write_newer(files[0], 1);
    files[1] = strdup(ck_test_tmp("h5r_earliest_m.h5"));
    ck_test_h5_write_newer(files[1], 0);
    hostile h = {0, 0, 0, 0};
    unsigned seed = 12345;
    for (int k = 0; k < 2; k++) {
        size_t len = 0;
        unsigned char *b = slurp(files[k], &len);
        for (size_t cut = 0; cut < len; cut += 1 + len / 300) run_image(&h, b, cut, "a truncated file");
        unsigned char *m = malloc(len);
        for (int iter = 0; iter < 300; iter++) {
            memcpy(m, b, len);
            int flips = 1 + (int)(rand_r(&seed) % 8);
            for (int j = 0; j < flips; j++) {
                size_t at = (size_t)rand_r(&seed) % len;
                /* mostly the metadata near structures, sometimes anywhere */
                m[at] = (unsigned char)(rand_r(&seed) % 3 == 0 ? 0xff : rand_r(&seed));
            }
            run_image(&h, m, len, "a mutated file");
        }
        free(m);
        free(b);
        free(files[k]);
    }
    cr_log_info("truncated/mutated: %d images, %d read, %d refused, slowest %.3f s", h.files, h.ok,
                h.refused, h.worst);
}

/* A fuzzed 13 KB weights file whose thousands of layer names each send
 * the Keras loader through the same large object header: each call stays
 * within the per-call budget, their total was 1.6 M steps (0.2 s, 7 s
 * under ASan).  The handle's budget, proportional to the file's size,
 * refuses it with a message that says why. */
Test(h5_reader, work_for_all_calls_follows_file_size)
{
    static const char model_json[] =
        "{\"class_name\":\"Sequential\",\"config\":{\"name\":\"s\",\"layers\":["
        "{\"class_name\":\"Dense\",\"config\":{\"name\":\"dense\",\"units\":3,\"batch_input_shape\":[null,4]}}]}}";
    ck_model *m = NULL;
    cr_assert_eq(ck_model_from_json(model_json, &m), CK_OK, "%s", ck_last_error());
    char full[1024];
    snprintf(full, sizeof full, "%s", ck_test_data("../fuzz/corpus/fuzz_h5_weights/layer_names_work_budget.h5"));
    double t0 = now();
    ck_status st = ck_model_load_weights(m, full, 0);
    double dt = now() - t0;
    cr_expect_eq(st, CK_FORMAT_ERROR, "status %d: %s", st, ck_last_error());
    cr_expect(strstr(ck_last_error(), "too much work to read for its 13369 bytes") != NULL, "%s", ck_last_error());
    cr_expect(dt < 1.0, "%.2f s", dt);
    ck_model_free(m);
}
