/* The fused float32 LSTM and GRU steps (src/ops/rnn_cell_kernels.c) against the same step
 * in double with libm's exp and tanh: gates, carry and state within 1e-6
 * relative (the float polynomials are a few ulp; each stage checked on
 * the kernel's own float inputs to it), over a wide range of
 * pre-activations, on a row width that leaves tails for every vector width,
 * with hard_sigmoid, and NaN kept. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "ckeras.h"
#include "ops/ops.h"

#define B 3
#define U 37 /* 2 * 16 + 5: tails for vectors of 16, 8 and 4 */
#define G (4 * U)
#define LDX (G + 3)

static float z[B * G], z0[B * G], xp[B * LDX], gates[B * G], c[B * U], actc[B * U], h[B * U], cp[B * U];

static double sig(double x, int hard)
{
    if (hard) return fmin(1.0, fmax(0.0, 0.2 * x + 0.5));
    return 1.0 / (1.0 + exp(-x));
}

/* Pre-activations spread over about [-span, span], some exactly 0. */
static void fill(float span)
{
    unsigned s = 12345;
    for (int i = 0; i < B * G; i++) {
        s = s * 1103515245u + 12345u;
        z0[i] = (i % 29 == 0) ? 0.0f : span * ((float)(s >> 8) / 8388608.0f - 1.0f);
    }
    for (int i = 0; i < B * LDX; i++) xp[i] = (float)((i * 7) % 13) / 26.0f - 0.25f;
    for (int i = 0; i < B * U; i++) cp[i] = (float)((i * 5) % 11) / 2.0f - 2.5f;
    memcpy(z, z0, sizeof z);
}

static void run(int hard)
{
    ck_lstm_cell_f32(&(ck_lstm_cell_args){.batch = B, .units = U, .ldx = LDX, .hard_sigmoid = hard, .keep = 1, .z = z,
                                          .gates = gates, .c = c, .actc = actc, .h = h, .xp = xp, .c_prev = cp});
}

static void expect_rel(double got, double want, double scale, const char *what, int i)
{
    cr_expect(fabs(got - want) <= 1e-6 * scale + 1e-37, "%s[%d]: got %.9g, want %.9g", what, i, got, want);
}

static void check(int hard)
{
    for (int b = 0; b < B; b++)
        for (int u = 0; u < U; u++) {
            double zz[4], g[4];
            for (int k = 0; k < 4; k++) {
                int j = b * G + k * U + u;
                zz[k] = (double)(float)(z0[j] + xp[b * LDX + k * U + u]);
                cr_expect_eq(z[j], (float)zz[k], "z[%d]", j);
                double want = k == 2 ? tanh(zz[k]) : sig(zz[k], hard);
                /* hard_sigmoid is 0.2 x + 0.5 in float32, as TensorFlow
                 * computes it: an ulp of 0.5 at most */
                expect_rel(gates[j], want, hard && k != 2 ? 1.0 : fabs(want), "gate", j);
                g[k] = gates[j];
            }
            int i = b * U + u;
            double cc = g[1] * cp[i] + g[0] * g[2];
            expect_rel(c[i], cc, fabs(g[1] * cp[i]) + fabs(g[0] * g[2]), "c", i);
            expect_rel(actc[i], tanh((double)c[i]), fabs(tanh((double)c[i])), "tanh(c)", i);
            expect_rel(h[i], gates[b * G + 3 * U + u] * (double)actc[i], fabs(h[i]), "h", i);
        }
}

Test(rnn_cell_kernels, sigmoid_tanh_small_range)
{
    fill(3.0f);
    run(0);
    check(0);
}

Test(rnn_cell_kernels, sigmoid_tanh_wide_range)
{
    fill(120.0f);
    run(0);
    check(0);
}

Test(rnn_cell_kernels, hard_sigmoid)
{
    fill(6.0f);
    run(1);
    check(1);
}

Test(rnn_cell_kernels, nan_propagates)
{
    fill(3.0f);
    z0[5] = NAN;            /* unit 5's input gate, row 0 */
    z0[G + 2 * U + 7] = NAN; /* unit 7's candidate, row 1 */
    memcpy(z, z0, sizeof z);
    run(0);
    cr_expect(isnan(gates[5]) && isnan(c[5]) && isnan(h[5]));
    cr_expect(isnan(gates[G + 2 * U + 7]) && isnan(h[U + 7]));
    cr_expect(!isnan(h[6]) && !isnan(h[U + 8]));
}

/* GRU (reset_after): the same checks, stage by stage. */
Test(rnn_cell_kernels, gru_reset_after)
{
    enum { GG = 3 * U };
    static float m[B * GG], m0[B * GG], pre[B * GG], post[B * GG], rb[GG], hp[B * U], hg[B * U];
    for (int hard = 0; hard < 2; hard++) {
        fill(hard ? 6.0f : 40.0f);
        for (int i = 0; i < B * GG; i++) m0[i] = z0[i];
        for (int i = 0; i < GG; i++) rb[i] = (float)(i % 5) / 8.0f - 0.25f;
        for (int i = 0; i < B * U; i++) hp[i] = cp[i] / 3.0f;
        memcpy(m, m0, sizeof m);
        ck_gru_cell_f32(&(ck_gru_cell_args){.batch = B, .units = U, .ldx = LDX, .hard_sigmoid = hard, .keep = 1, .m = m,
                                            .pre = pre, .post = post, .h = hg, .xp = xp, .rbias = rb, .h_prev = hp});
        for (int b = 0; b < B; b++)
            for (int u = 0; u < U; u++) {
                int j[3] = {b * GG + u, b * GG + U + u, b * GG + 2 * U + u};
                for (int k = 0; k < 3; k++) cr_expect_eq(m[j[k]], m0[j[k]] + rb[k * U + u], "m[%d]", j[k]);
                for (int k = 0; k < 2; k++) {
                    cr_expect_eq(pre[j[k]], xp[b * LDX + k * U + u] + m[j[k]], "pre[%d]", j[k]);
                    double want = sig(pre[j[k]], hard);
                    expect_rel(post[j[k]], want, hard ? 1.0 : fabs(want), "gate", j[k]);
                }
                cr_expect_eq(pre[j[2]], xp[b * LDX + 2 * U + u] + post[j[1]] * m[j[2]], "pre_h[%d]", j[2]);
                expect_rel(post[j[2]], tanh(pre[j[2]]), fabs(tanh(pre[j[2]])), "hh", j[2]);
                int i = b * U + u;
                double z = post[j[0]], want = z * hp[i] + (1 - z) * post[j[2]];
                expect_rel(hg[i], want, fabs(z * hp[i]) + fabs((1 - z) * post[j[2]]), "h", i);
            }
    }
}
