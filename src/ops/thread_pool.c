/* ckeras' thread pool: POSIX threads, one job at a time (thread_pool.h).
 *
 * A job is cut into a few chunks per thread (fixed boundaries, so results
 * do not depend on who runs which chunk); the caller and the woken workers
 * claim chunks one at a time, so that a thread the system leaves waiting
 * on a loaded machine delays the job by at most the chunk it holds, not by
 * a whole share.  Workers are woken by one atomic word, the generation
 * times 256 plus the threads wanted; they spin a little after each job (a
 * model's layers call the pool back to back), then sleep on a condition
 * variable. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

#include "ckeras.h"
#include "ops/thread_pool.h"

void openblas_set_num_threads(int);

/* Pause instructions a waiting thread spins before sleeping: some tens of
 * microseconds, long enough to bridge two consecutive layers' products. */
#define SPIN_LIMIT 4000

/* One step of a spin-wait: a pause, and every 64th step a yield, so that
 * on a machine with more runnable threads than cores a waiting thread
 * hands its core to the one it waits for instead of burning its share. */
static inline void cpu_relax(int i)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_ia32_pause();
#endif
    if ((i & 63) == 63) sched_yield();
}

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    atomic_uint_fast64_t word;   /* generation << 8 | threads wanted      */
    /* generation (32 bits) << 32 | chunks << 16 | next chunk to claim */
    atomic_uint_fast64_t claim;
    atomic_int done;             /* chunks of the current job finished    */
    atomic_flag busy;            /* held by the one caller using the pool */
    int nworkers;                /* changed only while `busy` is held     */
    uint_fast64_t gen;           /* likewise                              */
    /* the current job: written by the caller before `claim` */
    ck_pool_fn fn;
    void *arg;
    int64_t n, grain;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER,
          .cv_work = PTHREAD_COND_INITIALIZER,
          .cv_done = PTHREAD_COND_INITIALIZER,
          .busy = ATOMIC_FLAG_INIT};

/* The job word when worker i was started, its first "seen" word: a worker
 * started for a job takes part in it even when it runs only after the job
 * was published. */
static uint_fast64_t start_word[CK_POOL_MAX_THREADS];

/* ck_set_num_threads' value; 0 (the default) means the machine's cores. */
static atomic_int requested;

/* Set on workers for good, and on a caller while it runs its chunks: a
 * kernel called from inside a chunk stays on its thread. */
static _Thread_local int in_part;

/* Asked of the system once: every ck_pool_for asks for it, and sysconf
 * reads /sys each time (a ConvLSTM predict made 650,000 such reads). */
static int machine_cores(void)
{
    static atomic_int cached;
    int c = atomic_load_explicit(&cached, memory_order_relaxed);
    if (c) return c;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    c = n > CK_POOL_MAX_THREADS ? CK_POOL_MAX_THREADS : (int)n;
    atomic_store_explicit(&cached, c, memory_order_relaxed);
    return c;
}

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_one_thread(void) { openblas_set_num_threads(1); }

void ck_pool_init_blas(void) { pthread_once(&blas_once, blas_one_thread); }

ck_status ck_set_num_threads(int n)
{
    if (n < 0) return ck_error(CK_VALUE_ERROR, "ck_set_num_threads: n must be >= 0 (0 = all cores), got %d", n);
    ck_pool_init_blas();
    atomic_store(&requested, n > CK_POOL_MAX_THREADS ? CK_POOL_MAX_THREADS : n);
    return CK_OK;
}

int ck_get_num_threads(void)
{
    int n = atomic_load(&requested);
    return n > 0 ? n : machine_cores();
}

/* Whole grains in n units; a ragged tail joins the last grain, so that no
 * part is a sliver (OpenBLAS runs a 1-row product with other kernels than
 * a 16-row one, and the results would depend on the thread count). */
static int64_t whole_grains(int64_t n, int64_t grain) { return n / grain > 1 ? n / grain : 1; }

/* Units [begin, end) of part p of `parts`: whole grains, shared evenly. */
static void part_range(int64_t n, int64_t grain, int parts, int p, int64_t *begin, int64_t *end)
{
    const int64_t grains = whole_grains(n, grain);
    *begin = grains * p / parts * grain;
    *end = p == parts - 1 ? n : grains * (p + 1) / parts * grain;
}

/* Claims and runs chunks of job `gen` until none is left.  A chunk is
 * claimed by one compare-and-swap on `claim`, which names the generation:
 * a worker that wakes after its job ended finds another generation there
 * and touches nothing.  The job's fields are read only after a claim
 * succeeded, and the caller changes them only once every claimed chunk is
 * done. */
static void run_chunks(uint_fast64_t gen)
{
    for (;;) {
        uint_fast64_t c = atomic_load_explicit(&pool.claim, memory_order_acquire);
        do {
            if ((c >> 32) != (gen & 0xffffffffu) || (c & 0xffff) >= ((c >> 16) & 0xffff)) return;
        } while (!atomic_compare_exchange_weak_explicit(&pool.claim, &c, c + 1, memory_order_acq_rel,
                                                        memory_order_acquire));
        const int chunks = (int)((c >> 16) & 0xffff);
        int64_t b, e;
        part_range(pool.n, pool.grain, chunks, (int)(c & 0xffff), &b, &e);
        if (b < e) pool.fn(pool.arg, b, e);
        if (atomic_fetch_add_explicit(&pool.done, 1, memory_order_acq_rel) + 1 == chunks) {
            pthread_mutex_lock(&pool.mu);
            pthread_cond_signal(&pool.cv_done);
            pthread_mutex_unlock(&pool.mu);
        }
    }
}

static void *worker_main(void *arg)
{
    const int idx = (int)(intptr_t)arg;    /* wanted when threads > idx + 1 */
    uint_fast64_t seen = start_word[idx];
    in_part = 1;
    for (;;) {
        uint_fast64_t w = seen;
        for (int i = 0; i < SPIN_LIMIT && w == seen; i++) {
            cpu_relax(i);
            w = atomic_load_explicit(&pool.word, memory_order_acquire);
        }
        if (w == seen) {
            pthread_mutex_lock(&pool.mu);
            while ((w = atomic_load_explicit(&pool.word, memory_order_acquire)) == seen)
                pthread_cond_wait(&pool.cv_work, &pool.mu);
            pthread_mutex_unlock(&pool.mu);
        }
        seen = w;
        if (idx + 1 < (int)(w & 0xff)) run_chunks(w >> 8);
    }
    return NULL;
}

/* Starts workers until there are `want` (fewer if the system refuses). */
static void grow(int want)
{
    while (pool.nworkers < want) {
        pthread_attr_t attr;
        pthread_t t;
        if (pthread_attr_init(&attr) != 0) return;
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        start_word[pool.nworkers] = atomic_load_explicit(&pool.word, memory_order_relaxed);
        int rc = pthread_create(&t, &attr, worker_main, (void *)(intptr_t)pool.nworkers);
        pthread_attr_destroy(&attr);
        if (rc != 0) return;
        pool.nworkers++;
    }
}

/* Into how many pieces (at most `cap`) [0, n) may be cut so that each,
 * the smallest included, has CK_POOL_MIN_WORK and whole grains. */
static int split_count(int64_t n, int64_t grain, double work, int cap, double min_work)
{
    const int64_t grains = whole_grains(n, grain);
    double by_work = work / min_work;
    int parts = cap;
    if (by_work < parts) parts = (int)by_work;
    if (grains < parts) parts = (int)grains;
    while (parts > 1 && work * (double)(grains / parts * grain) / (double)n < min_work) parts--;
    return parts < 1 ? 1 : parts;
}

/* The work a part needs when each part also reads `shared` bytes that the
 * caller has just written */
static double min_work_for(double shared) { return CK_POOL_MIN_WORK + CK_POOL_SHARED_BYTE_WORK * shared; }

static int parts_for(int64_t n, int64_t grain, double work, double shared)
{
    if (in_part || n <= 0) return 1;
    return split_count(n, grain < 1 ? 1 : grain, work, ck_get_num_threads(), min_work_for(shared));
}

int ck_pool_parts(int64_t n, int64_t grain, double work) { return parts_for(n, grain, work, 0); }

/* Chunks per thread: a thread that the system leaves waiting (a loaded
 * machine) costs the job at most a chunk, the others take the rest. */
#define CHUNKS_PER_THREAD 4

static void pool_run(int64_t n, int64_t grain, double work, double shared, ck_pool_fn fn, void *arg,
                     int chunks_per_thread);

void ck_pool_for(int64_t n, int64_t grain, double work, ck_pool_fn fn, void *arg)
{
    pool_run(n, grain, work, 0, fn, arg, CHUNKS_PER_THREAD);
}

void ck_pool_for_shared(int64_t n, int64_t grain, double work, double shared_bytes, ck_pool_fn fn, void *arg)
{
    pool_run(n, grain, work, shared_bytes, fn, arg, CHUNKS_PER_THREAD);
}

void ck_pool_for_parts(int64_t n, int64_t grain, double work, ck_pool_fn fn, void *arg)
{
    pool_run(n, grain, work, 0, fn, arg, 1);
}

static void pool_run(int64_t n, int64_t grain, double work, double shared, ck_pool_fn fn, void *arg,
                     int chunks_per_thread)
{
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    ck_pool_init_blas();
    if (n <= grain) { /* one part: no need to weigh the work */
        fn(arg, 0, n);
        return;
    }
    int threads = parts_for(n, grain, work, shared);
    if (threads <= 1 || atomic_flag_test_and_set_explicit(&pool.busy, memory_order_acquire)) {
        fn(arg, 0, n);
        return;
    }
    grow(threads - 1);
    if (threads > pool.nworkers + 1) threads = pool.nworkers + 1;
    if (threads <= 1) {
        atomic_flag_clear_explicit(&pool.busy, memory_order_release);
        fn(arg, 0, n);
        return;
    }
    const int chunks = split_count(n, grain, work, chunks_per_thread * threads, min_work_for(shared));
    const uint_fast64_t gen = ++pool.gen;
    pool.fn = fn;
    pool.arg = arg;
    pool.n = n;
    pool.grain = grain;
    atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.claim, (gen & 0xffffffffu) << 32 | (uint_fast64_t)chunks << 16,
                          memory_order_release);
    pthread_mutex_lock(&pool.mu);
    atomic_store_explicit(&pool.word, gen << 8 | (uint_fast64_t)threads, memory_order_release);
    pthread_cond_broadcast(&pool.cv_work);
    pthread_mutex_unlock(&pool.mu);

    in_part = 1;
    run_chunks(gen);
    in_part = 0;

    /* only chunks that workers claimed and still run are left */
    int spins = 0;
    while (atomic_load_explicit(&pool.done, memory_order_acquire) != chunks && spins < SPIN_LIMIT) cpu_relax(spins++);
    if (atomic_load_explicit(&pool.done, memory_order_acquire) != chunks) {
        pthread_mutex_lock(&pool.mu);
        while (atomic_load_explicit(&pool.done, memory_order_acquire) != chunks)
            pthread_cond_wait(&pool.cv_done, &pool.mu);
        pthread_mutex_unlock(&pool.mu);
    }
    atomic_flag_clear_explicit(&pool.busy, memory_order_release);
}
