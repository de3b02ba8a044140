/* ckeras' own thread pool (internal; thread_pool.c).
 *
 * One pool for the whole process, created on first use and sized by
 * ck_set_num_threads.  A kernel hands it a range [0, n) of independent
 * units (rows, batch items, output channels) and an estimate of the work;
 * the pool cuts the range into contiguous chunks that the calling thread
 * and its workers claim one by one, and returns when all are done.
 *
 * Small work never leaves the calling thread (waking a worker costs a few
 * microseconds; see CK_POOL_MIN_WORK).  The pool is used by one call at a
 * time: a second user thread calling ckeras while the pool is busy, or a
 * kernel called from inside a part, runs its work on its own thread
 * instead of waiting, so concurrent callers never deadlock and never
 * oversubscribe the cores. */
#ifndef CK_THREAD_POOL_H
#define CK_THREAD_POOL_H

#include <stdint.h>

/* The most threads a job is ever cut for (a worker per extra part). */
#define CK_POOL_MAX_THREADS 64

/* Floating-point operations (or their equivalent) every part must have:
 * about 20 us of AVX-512 FMA work, an order of magnitude above the cost of
 * waking a worker and collecting it.  It also keeps each part of a product
 * that OpenBLAS runs with its large-matrix kernels above OpenBLAS 0.3.21's
 * small-matrix threshold (M*N*K <= 1e6 on SkylakeX kernels), whose other
 * kernels would make the result depend on the thread count. */
#define CK_POOL_MIN_WORK 2.0e6

/* What reading a byte that the calling thread has just written costs
 * another core, counted in the same operations as the work: the line
 * travels between the cores' caches.  Measured on the MNIST CNN at batch 1
 * (bench_infer cnn_b1): its second convolution (4.5 MFLOP, Winograd) cut
 * in two made the worker fetch the 128 KiB kernel transform the caller
 * had just made, and 2 threads took 36-47 us against 33-35 us on one;
 * with the transform kept from call to call (an experiment) the split
 * gained 1-2 us.  At 16 a byte that product stays on one thread, while
 * the same convolution at batch 64 (288 MFLOP) is still cut. */
#define CK_POOL_SHARED_BYTE_WORK 16.0

/* Runs units [begin, end) of the job. */
typedef void (*ck_pool_fn)(void *arg, int64_t begin, int64_t end);

/* Runs fn over [0, n): on the calling thread alone when the work is small
 * (`work` is the whole job's floating-point operations), the pool is busy
 * or the caller is itself a part; otherwise on up to ck_get_num_threads()
 * threads, in chunks whose boundaries are multiples of `grain` (the last
 * takes the ragged tail) and which each have CK_POOL_MIN_WORK.  Every unit
 * is run exactly once; chunks may run in any order. */
void ck_pool_for(int64_t n, int64_t grain, double work, ck_pool_fn fn, void *arg);

/* The same for a job each of whose parts reads `shared_bytes` that the
 * caller has just written (a transform of the weights made on every call):
 * every part must also have CK_POOL_SHARED_BYTE_WORK a byte of them. */
void ck_pool_for_shared(int64_t n, int64_t grain, double work, double shared_bytes, ck_pool_fn fn, void *arg);

/* The same with one chunk per thread, for kernels whose every call has a
 * fixed cost besides its share of the work (OpenBLAS packs the whole other
 * operand on each call: 256x1024x1024 cut into 8 row chunks took twice the
 * one-thread time on 2 cores, in 2 parts less than it). */
void ck_pool_for_parts(int64_t n, int64_t grain, double work, ck_pool_fn fn, void *arg);

/* How many parts ck_pool_for would cut this job into right now (1 = the
 * calling thread alone).  A hint: the pool may still be taken meanwhile. */
int ck_pool_parts(int64_t n, int64_t grain, double work);

/* Called once before the first product: OpenBLAS is told to run on the
 * calling thread (its own pool would fight ours for the cores, and its
 * pthreads build serialises concurrent callers while its pool runs). */
void ck_pool_init_blas(void);

#endif
