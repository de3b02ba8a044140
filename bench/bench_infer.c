/* bench_infer: inference time per call of ckeras' predict beside ONNX
 * Runtime, TensorFlow (tf.function of the same Keras model) and PyTorch
 * (a frozen TorchScript module), same weights and inputs, outputs checked
 * equal, each at one thread and at all cores, measured in the same run.
 * Not a test: it prints figures.
 *
 * Cases: the MNIST MLP 784-256-256-10 (batch 1, 256), the siamese model of
 * tests/data/keras/siamese-cosine-dot-keras2_4 (nested Dense/BatchNorm,
 * cosine Dot; batch 1, 256), a Keras MNIST CNN Conv 32 -> MaxPool -> Conv
 * 64 -> MaxPool -> Dense 10 (batch 1, 64), Dense 64->64 (batch 1), the
 * Keras text classifier Embedding(20000, 128) -> LSTM(128) -> Dense(1,
 * sigmoid) on sequences of 80 word indices (batch 1, 32), and the Dense and
 * batch_dot shapes of issue 11: Dense 1024->1024 (batch 256) and two-input
 * models Dot(axes=(2, 1)) of x (B, n, d) and y (B, d, m), that is batch_dot,
 * with (B, n, d, m) = (1024, 1, 64, 1) and (32, 128, 512, 128).
 *
 * How: ckeras builds the models (fixed seed) and saves them as Keras .h5
 * files in a work directory ($CK_BENCH_DIR, else a new /tmp directory),
 * with the inputs and its own outputs as .npy; tools/bench_infer_peers.py
 * then builds the ONNX graphs and PyTorch weights from those files
 * (`prepare`, under the Python with TensorFlow) and times each peer in a
 * process of its own per thread count (`run`).  A missing peer is skipped
 * with a note.  $CK_BENCH_PYTHON_KERAS (default /opt/kref/bin/python, else
 * python3) runs ONNX Runtime and TensorFlow; $CK_BENCH_PYTHON_TORCH
 * (default /usr/bin/python3) PyTorch; $CK_BENCH_TOOLS the tools folder
 * (default tools, from the source tree's root as `make bench` runs).
 *
 * Timing, the same everywhere: warm-up, then REPEATS windows of at least
 * WINDOW seconds and the median window's time per call; ckeras and the
 * peers run in rounds ($CK_BENCH_ROUNDS, default 3) and the table shows
 * the median over rounds, since the machine may be shared.  Memory: the
 * peak RSS of each runtime's process over the same cases.
 *
 * While tuning: $CK_BENCH_CASES (comma-separated case names) keeps only
 * those cases, CK_BENCH_PEERS=0 times ckeras alone and CK_BENCH_CPU_TIME=1
 * times it in CPU time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "ckeras.h"

#define REPEATS 5
#define WINDOW 0.2
#define WARMUP 0.05
#define MAX_ROUNDS 9

typedef struct bcase {
    const char *name, *model;
    int64_t batch;
} bcase;

static const bcase cases[] = {
    {"mlp_b1", "mlp", 1},         {"mlp_b256", "mlp", 256}, {"siamese_b1", "siamese", 1},
    {"siamese_b256", "siamese", 256}, {"cnn_b1", "cnn", 1},     {"cnn_b64", "cnn", 64},
    {"dense64_b1", "dense64", 1}, {"lstm_b1", "lstm", 1},   {"lstm_b32", "lstm", 32},
    {"dense1024_b256", "dense1024", 256},
    {"bdot_b1024_1x64x1", "bdot_1x64x1", 1024},
    {"bdot_b32_128x512x128", "bdot_128x512x128", 32},
};
#define NCASES (int)(sizeof cases / sizeof cases[0])

enum { P_ORT, P_TF, P_TORCH, NPEERS };
static const char *peer_id[NPEERS] = {"ort", "tf", "torch"};
static const char *peer_name[NPEERS] = {"onnxruntime", "tensorflow", "torch"};

/* [case][thread setting][round] microseconds per call (0: not measured) */
static double ck_us[NCASES][2][MAX_ROUNDS], peer_us[NPEERS][NCASES][2][MAX_ROUNDS];
static double peer_diff[NPEERS][NCASES];
/* the largest peak RSS (kB) of a peer's process over its runs */
static long peer_rss_kb[NPEERS];
static int peer_skipped[NPEERS];

static double now(void)
{
    /* CK_BENCH_CPU_TIME=1: the process' CPU time, which a loaded machine
     * distorts less (for one thread; ckeras alone, the peers keep wall
     * time) */
    static int cpu = -1;
    if (cpu < 0) cpu = getenv("CK_BENCH_CPU_TIME") && strcmp(getenv("CK_BENCH_CPU_TIME"), "1") == 0;
    struct timespec ts;
    clock_gettime(cpu ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    double s[MAX_ROUNDS];
    int k = 0;
    for (int i = 0; i < n; i++)
        if (v[i] > 0) s[k++] = v[i];
    if (k == 0) return 0;
    qsort(s, (size_t)k, sizeof s[0], cmp_double);
    return k % 2 ? s[k / 2] : 0.5 * (s[k / 2 - 1] + s[k / 2]);
}

/* Whether $CK_BENCH_CASES (comma-separated names; unset: all) names the case. */
static int selected(const bcase *bc)
{
    const char *list = getenv("CK_BENCH_CASES");
    if (!list || !*list) return 1;
    size_t n = strlen(bc->name);
    for (const char *p = list; (p = strstr(p, bc->name)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == 0)) return 1;
    return 0;
}

static int check(ck_status st, const char *what)
{
    if (st != CK_OK) fprintf(stderr, "bench_infer: %s: %s\n", what, ck_last_error());
    return st != CK_OK;
}

/* ---- the models ----------------------------------------------------------- */

/* The text classifier's vocabulary and sequence length. */
#define LSTM_VOCAB 20000
#define LSTM_TIME 80

/* Dot(axes=(2, 1)) of inputs (n, d) and (d, m): Keras' batch_dot of x
 * (B, n, d) and y (B, d, m) as a two-input model. */
static ck_status build_batch_dot(const char *which, int64_t n, int64_t d, int64_t m, ck_model **out)
{
    ck_tensor *x = NULL, *y = NULL, *o = NULL;
    ck_layer *dot = NULL;
    ck_status st = ck_input(&x, &(ck_input_opts){.shape = {2, {n, d}}});
    if (st == CK_OK) st = ck_input(&y, &(ck_input_opts){.shape = {2, {d, m}}});
    if (st == CK_OK) st = ck_dot(&dot, &(ck_dot_opts){.axes = ck_axes_pair(2, 1)});
    if (st == CK_OK) st = ck_layer_apply(dot, 2, (ck_tensor *[]){x, y}, &o);
    if (st == CK_OK) st = ck_model_new(out, 2, (ck_tensor *[]){x, y}, 1, &o, which);
    ck_layer_free(dot);
    if (x) ck_layer_free(ck_tensor_layer(x));
    if (y) ck_layer_free(ck_tensor_layer(y));
    return st;
}

static ck_status build(const char *which, ck_model **m)
{
    long long bn, bd, bm;
    if (sscanf(which, "bdot_%lldx%lldx%lld", &bn, &bd, &bm) == 3) return build_batch_dot(which, bn, bd, bm, m);

    ck_layer *l[6] = {NULL};
    int n = 0;
    ck_status st = CK_OK;
    ck_shape in;
    if (strcmp(which, "mlp") == 0) {
        in = (ck_shape){1, {784}};
        st = ck_dense(&l[n++], &(ck_dense_opts){.units = 256, .activation = "relu"});
        if (st == CK_OK) st = ck_dense(&l[n++], &(ck_dense_opts){.units = 256, .activation = "relu"});
        if (st == CK_OK) st = ck_dense(&l[n++], &(ck_dense_opts){.units = 10, .activation = "softmax"});
    } else if (strcmp(which, "cnn") == 0) {
        in = (ck_shape){3, {28, 28, 1}};
        st = ck_conv2d(&l[n++], &(ck_conv2d_opts){.filters = 32, .kernel_size = {3, 3}, .activation = "relu"});
        if (st == CK_OK) st = ck_max_pooling2d(&l[n++], &(ck_max_pooling2d_opts){.pool_size = {2, 2}});
        if (st == CK_OK)
            st = ck_conv2d(&l[n++], &(ck_conv2d_opts){.filters = 64, .kernel_size = {3, 3}, .activation = "relu"});
        if (st == CK_OK) st = ck_max_pooling2d(&l[n++], &(ck_max_pooling2d_opts){.pool_size = {2, 2}});
        if (st == CK_OK) st = ck_flatten(&l[n++], &(ck_flatten_opts){0});
        if (st == CK_OK) st = ck_dense(&l[n++], &(ck_dense_opts){.units = 10, .activation = "softmax"});
    } else if (strcmp(which, "lstm") == 0) {
        in = (ck_shape){1, {LSTM_TIME}};
        st = ck_embedding(&l[n++], &(ck_embedding_opts){.input_dim = LSTM_VOCAB, .output_dim = 128});
        if (st == CK_OK) st = ck_lstm(&l[n++], &(ck_rnn_opts){.units = 128});
        if (st == CK_OK) st = ck_dense(&l[n++], &(ck_dense_opts){.units = 1, .activation = "sigmoid"});
    } else if (strcmp(which, "dense1024") == 0) {
        in = (ck_shape){1, {1024}};
        st = ck_dense(&l[n++], &(ck_dense_opts){.units = 1024});
    } else {
        in = (ck_shape){1, {64}};
        st = ck_dense(&l[n++], &(ck_dense_opts){.units = 64});
    }
    if (st == CK_OK) st = ck_sequential(m, n, l, &in, which);
    for (int i = 0; i < n; i++) ck_layer_free(l[i]);
    return st;
}

/* The siamese model's file: $CK_BENCH_SIAMESE, the test data, or the
 * shared copy. */
static const char *siamese_file(void)
{
    static const char *const where[] = {"tests/data/keras/siamese-cosine-dot-keras2_4/testmodel.hdf5",
                                        "../shared/testdata/keras/siamese-cosine-dot-keras2_4/testmodel.hdf5"};
    const char *env = getenv("CK_BENCH_SIAMESE");
    if (env) return env;
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++)
        if (access(where[i], R_OK) == 0) return where[i];
    return where[0];
}

typedef struct loaded {
    ck_model *m;
    int n_in;
    ck_tensor *x[2], *y;
} loaded;

/* Inputs in [0, 1) (pixels, binned intensities) from a fixed LCG, or
 * word indices in [0, vocab) when vocab > 0. */
static void fill(ck_tensor *t, uint64_t seed, int vocab)
{
    for (int64_t i = 0; i < t->size; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        float u = (float)(seed >> 40) / 16777216.0f;
        ((float *)t->data)[i] = vocab > 0 ? (float)(int)(u * (float)vocab) : u;
    }
}

static ck_status predict(loaded *c, int64_t batch)
{
    return ck_model_predict_into(c->m, c->n_in, c->x, &c->y, batch);
}

static int setup_case(const bcase *bc, ck_model *m, const char *dir, loaded *c)
{
    memset(c, 0, sizeof *c);
    c->m = m;
    c->n_in = ck_model_input_count(m);
    for (int k = 0; k < c->n_in; k++) {
        const ck_tensor *sym = ck_model_input(m, k);
        int64_t shape[CK_MAX_RANK];
        for (int d = 0; d < sym->rank; d++) shape[d] = d == 0 ? bc->batch : sym->shape[d];
        if (check(ck_tensor_new(&c->x[k], CK_FLOAT32, sym->rank, shape), "input")) return 1;
        fill(c->x[k], 12345 + 977 * (uint64_t)k, strcmp(bc->model, "lstm") == 0 ? LSTM_VOCAB : 0);
        char path[2048];
        snprintf(path, sizeof path, "%s/%s.x%d.npy", dir, bc->name, k);
        if (check(ck_npy_save(path, c->x[k]), "save input")) return 1;
    }
    ck_tensor *outs[1] = {NULL};
    if (check(ck_model_predict(m, c->n_in, c->x, outs, bc->batch), "predict")) return 1;
    c->y = outs[0];
    char path[2048];
    snprintf(path, sizeof path, "%s/%s.ck.npy", dir, bc->name);
    return check(ck_npy_save(path, c->y), "save output");
}

static double time_case(loaded *c, int64_t batch)
{
    double t0 = now();
    while (now() - t0 < WARMUP)
        if (check(predict(c, batch), "predict")) return 0;
    double per[REPEATS];
    for (int r = 0; r < REPEATS; r++) {
        /* the clock read every k calls, k doubling while the window is
         * young: its cost (tens of ns) stays out of sub-microsecond calls */
        int64_t n = 0, k = 1;
        double s = now(), dt;
        do {
            for (int64_t i = 0; i < k; i++) predict(c, batch);
            n += k;
            if ((dt = now() - s) * 100 < WINDOW) k *= 2;
        } while (dt < WINDOW);
        per[r] = dt / (double)n;
    }
    qsort(per, REPEATS, sizeof per[0], cmp_double);
    return per[REPEATS / 2] * 1e6;
}

/* ---- the peers -------------------------------------------------------------- */

static const char *python_for(int peer)
{
    const char *env = getenv(peer == P_TORCH ? "CK_BENCH_PYTHON_TORCH" : "CK_BENCH_PYTHON_KERAS");
    if (env) return env;
    if (peer == P_TORCH) return "/usr/bin/python3";
    return access("/opt/kref/bin/python", X_OK) == 0 ? "/opt/kref/bin/python" : "python3";
}

static const char *tools_dir(void)
{
    const char *env = getenv("CK_BENCH_TOOLS");
    return env ? env : "tools";
}

static void run_peer(int peer, int ti, int threads, int round, const char *dir)
{
    char cmd[4096];
    int len = snprintf(cmd, sizeof cmd, "%s %s/bench_infer_peers.py run --peer %s --threads %d %s", python_for(peer),
                       tools_dir(), peer_id[peer], threads, dir);
    for (int i = 0; i < NCASES && len < (int)sizeof cmd - 100; i++)
        if (selected(&cases[i])) len += snprintf(cmd + len, sizeof cmd - (size_t)len, " %s:%s:%lld", cases[i].name, cases[i].model,
                        (long long)cases[i].batch);
    snprintf(cmd + len, sizeof cmd - (size_t)len, " 2>&1");
    FILE *p = popen(cmd, "r");
    if (!p) return;
    char line[1024];
    int got = 0;
    while (fgets(line, sizeof line, p)) {
        char name[64];
        double us, diff;
        long rss;
        if (sscanf(line, "PEAK_RSS %ld", &rss) == 1) {
            if (rss > peer_rss_kb[peer]) peer_rss_kb[peer] = rss;
        } else if (sscanf(line, "RESULT %63s %lf %lf", name, &us, &diff) == 3) {
            for (int i = 0; i < NCASES; i++)
                if (strcmp(name, cases[i].name) == 0) {
                    peer_us[peer][i][ti][round] = us;
                    if (diff > peer_diff[peer][i]) peer_diff[peer][i] = diff;
                }
            got++;
        } else if (strncmp(line, "SKIP", 4) == 0 && !peer_skipped[peer]) {
            peer_skipped[peer] = 1;
            printf("  %s skipped: %s", peer_name[peer], line + 5);
        } else if (!got && strstr(line, "Error")) {
            fprintf(stderr, "  %s: %s", peer_name[peer], line);
        }
    }
    pclose(p);
}

int main(void)
{
    const int cores = ck_get_num_threads();
    const int settings[2] = {1, cores};
    const int nsettings = cores > 1 ? 2 : 1;
    const char *envr = getenv("CK_BENCH_ROUNDS");
    int rounds = envr ? atoi(envr) : 3;
    if (rounds < 1) rounds = 1;
    if (rounds > MAX_ROUNDS) rounds = MAX_ROUNDS;

    char dir[512];
    const char *envd = getenv("CK_BENCH_DIR");
    if (envd) {
        snprintf(dir, sizeof dir, "%s", envd);
    } else {
        snprintf(dir, sizeof dir, "/tmp/ckeras_bench_infer.XXXXXX");
        if (!mkdtemp(dir)) {
            perror("bench_infer: mkdtemp");
            return 1;
        }
    }

    /* the models, saved for the peers */
    static const char *const models[] = {"mlp",       "siamese",     "cnn",
                                         "dense64",   "lstm",        "dense1024",
                                         "bdot_1x64x1", "bdot_128x512x128"};
    enum { NMODELS = (int)(sizeof models / sizeof models[0]) };
    ck_model *m[NMODELS] = {NULL};
    ck_set_random_seed(42);
    for (int i = 0; i < NMODELS; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s.h5", dir, models[i]);
        if (strcmp(models[i], "siamese") == 0) {
            if (check(ck_model_load(siamese_file(), &m[i]), siamese_file())) return 1;
        } else if (check(build(models[i], &m[i]), models[i])) {
            return 1;
        }
        if (check(ck_model_save(m[i], path), "save model")) return 1;
    }
    /* only the selected cases get inputs and a reference output, and only
     * their models go to the peers' prepare step */
    loaded lc[NCASES] = {{0}};
    char prepare_models[512] = "";
    int used[NMODELS] = {0};
    for (int i = 0; i < NCASES; i++) {
        if (!selected(&cases[i])) continue;
        int mi = 0;
        while (strcmp(models[mi], cases[i].model) != 0) mi++;
        if (setup_case(&cases[i], m[mi], dir, &lc[i])) return 1;
        used[mi] = 1;
    }
    for (int i = 0; i < NMODELS; i++)
        if (used[i])
            snprintf(prepare_models + strlen(prepare_models), sizeof prepare_models - strlen(prepare_models), " %s",
                     models[i]);

    printf("bench_infer: ckeras predict vs peers, %d round(s), %d core(s), load average at start: ", rounds, cores);
    FILE *la = fopen("/proc/loadavg", "r");
    char lbuf[128] = "?\n";
    if (la) {
        if (!fgets(lbuf, sizeof lbuf, la)) snprintf(lbuf, sizeof lbuf, "?\n");
        fclose(la);
    }
    printf("%s", lbuf);
    printf("work directory: %s\n", dir);

    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s/bench_infer_peers.py prepare %s%s 2>&1 | grep -v Warning", python_for(P_TF),
             tools_dir(), dir, prepare_models);
    const char *envp = getenv("CK_BENCH_PEERS");
    int prepared = !(envp && strcmp(envp, "0") == 0) && system(cmd) == 0;
    /* the pipe through grep hides the Python's exit status: a failed
     * prepare shows as a missing DIR/MODEL.npz */
    for (int i = 0; prepared && i < NCASES; i++) {
        char npz[2048];
        snprintf(npz, sizeof npz, "%s/%s.npz", dir, cases[i].model);
        if (selected(&cases[i]) && access(npz, R_OK) != 0) prepared = 0;
    }
    if (!prepared) printf("  prepare failed: ONNX Runtime, TensorFlow and PyTorch are skipped\n");

    double same_bits = 1;
    for (int r = 0; r < rounds; r++) {
        for (int ti = 0; ti < nsettings; ti++) {
            ck_set_num_threads(settings[ti]);
            for (int i = 0; i < NCASES; i++) {
                if (!selected(&cases[i])) continue;
                ck_us[i][ti][r] = time_case(&lc[i], cases[i].batch);
                if (ti > 0 && r == 0) {
                    /* threads must not change the result: compare with the
                     * one-thread output saved for the peers */
                    ck_tensor *ref = NULL;
                    char path[2048];
                    snprintf(path, sizeof path, "%s/%s.ck.npy", dir, cases[i].name);
                    if (ck_npy_load(path, &ref) == CK_OK && ref->size == lc[i].y->size)
                        same_bits *= memcmp(ref->data, lc[i].y->data, (size_t)ref->size * sizeof(float)) == 0;
                    ck_tensor_free(ref);
                }
            }
            for (int p = 0; prepared && p < NPEERS; p++)
                if (!peer_skipped[p]) run_peer(p, ti, settings[ti], r, dir);
        }
        fprintf(stderr, "bench_infer: round %d of %d done\n", r + 1, rounds);
    }
    ck_set_num_threads(0);

    printf("\n%-20s %3s %11s %9s %9s %9s %27s\n", "case", "thr", "ckeras us", "ort/ck", "tf/ck", "torch/ck",
           "max |diff| ort, tf, torch");
    for (int i = 0; i < NCASES; i++)
        for (int ti = 0; ti < nsettings && selected(&cases[i]); ti++) {
            double x = median(ck_us[i][ti], rounds);
            printf("%-20s %3d %11.2f", cases[i].name, settings[ti], x);
            for (int p = 0; p < NPEERS; p++) {
                double y = median(peer_us[p][i][ti], rounds);
                if (y > 0) printf(" %8.2fx", y / x);
                else printf(" %9s", "-");
            }
            printf("    %8.1e %8.1e %8.1e\n", peer_diff[P_ORT][i], peer_diff[P_TF][i], peer_diff[P_TORCH][i]);
        }
    printf("ckeras' outputs with %d threads %s those with 1 thread\n", cores,
           same_bits ? "are bit-identical to" : "DIFFER from");
    /* Peak memory: each peer's process ran the same cases (models, inputs,
     * reference outputs); ckeras' is this process, which also built and
     * saved every model, selected or not (so its figure errs high). */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak memory (max RSS of the process that ran these cases): ckeras %.1f MB", ru.ru_maxrss / 1024.0);
    for (int p = 0; p < NPEERS; p++)
        if (peer_rss_kb[p] > 0) printf(", %s %.1f MB", peer_name[p], peer_rss_kb[p] / 1024.0);
    printf("\n");
    printf("\n");
    for (int i = 0; i < NCASES; i++)
        for (int ti = 0; ti < nsettings && selected(&cases[i]); ti++) {
            double x = median(ck_us[i][ti], rounds), best = 0;
            int bp = -1;
            for (int p = 0; p < NPEERS; p++) {
                double y = median(peer_us[p][i][ti], rounds);
                if (y > 0 && (bp < 0 || y < best)) best = y, bp = p;
            }
            if (bp < 0)
                printf("case %s threads %d: ckeras %.2f us, best peer none\n", cases[i].name, settings[ti], x);
            else
                printf("case %s threads %d: ckeras %.2f us, best peer %s %.2f us, ratio %.2f\n", cases[i].name,
                       settings[ti], x, peer_name[bp], best, best / x);
        }
    for (int i = 0; i < NCASES; i++) {
        ck_tensor_free(lc[i].x[0]);
        ck_tensor_free(lc[i].x[1]);
        ck_tensor_free(lc[i].y);
    }
    for (int i = 0; i < NMODELS; i++) ck_model_free(m[i]);
    return 0;
}
