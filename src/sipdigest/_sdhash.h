/*
 * _sdhash.h -- self-contained hash primitives for sipdigest's C extension.
 *
 * MD5 (RFC 1321), SHA-256, SHA-512 and SHA-512/256 (FIPS 180-4), and
 * HMAC-SHA-256 (RFC 2104), written from those specifications for this
 * project.  Header-only C99 (also valid C++); needs only <stdint.h>,
 * <string.h> and <stddef.h>.
 *
 * Strategy
 *  - One context struct (sd_ctx) for every algorithm: a union holding either
 *    eight 32-bit chaining words (MD5 uses four, SHA-256 eight) or eight
 *    64-bit ones (the SHA-512 family), a 128-byte block buffer, and a 128-bit
 *    count of bytes hashed so far (lo/hi pair).  The bit length written in
 *    the final padding is derived from it: its low 64 bits for MD5 (RFC 1321
 *    §3.2, "mod 2^64") and SHA-256, all 128 bits for SHA-512 (FIPS 180-4
 *    §5.1.2).
 *  - Endian-independent: every word is loaded from and stored to bytes
 *    explicitly (little-endian for MD5, big-endian for the SHA family), so
 *    no alignment or byte-order assumption is made about the input.
 *  - Speed: the compression functions take a run of whole blocks straight
 *    from the caller's buffer (no copy), MD5's 64 steps are fully written
 *    out with macros, and the SHA rounds are unrolled eight at a time with
 *    the working variables renamed instead of shifted.
 *  - SD_SHA512_TRUNC is plain SHA-512 whose output is cut to 32 bytes, for
 *    peers that implemented "SHA-512-256" that way (RFC 7616 erratum 4897);
 *    SD_SHA512_256 is the real FIPS 180-4 SHA-512/256 with its own IVs.
 *  - sd_hex and sd_ct_equal do no table look-up or branch on the data, so
 *    comparing an expected response with a received one leaks no timing
 *    about where they differ.
 *
 * A context must be (re)initialised with sd_init before use and after
 * sd_final.  A context whose sd_init failed (unknown alg) is inert:
 * sd_update ignores it and sd_final/sd_final_hex write nothing.
 */
#ifndef SIPDIGEST_SDHASH_H
#define SIPDIGEST_SDHASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SD_MD5 0
#define SD_SHA256 1
#define SD_SHA512_256 2   /* real FIPS 180-4 SHA-512/256, its own IVs */
#define SD_SHA512_TRUNC 3 /* SHA-512 (standard IVs) truncated to 32 bytes:
                             a quirk for broken peers (RFC 7616 erratum 4897) */
#define SD_NALG 4
#define SD_MAX_DIGEST 32

/* ------------------------------------------------------------------------ */
/* Portability                                                              */
/* ------------------------------------------------------------------------ */

#if defined(__GNUC__) || defined(__clang__)
#define SD__UNUSED __attribute__((unused))
#else
#define SD__UNUSED
#endif

#if defined(__cplusplus) ||                                                   \
    (defined(__STDC_VERSION__) && __STDC_VERSION__ >= 199901L)
#define SD__INLINE inline
#elif defined(_MSC_VER)
#define SD__INLINE __inline
#elif defined(__GNUC__)
#define SD__INLINE __inline__
#else
#define SD__INLINE
#endif

/* Larger functions: static, and marked unused so a translation unit that
   includes the header without calling all of them stays warning-free. */
#define SD__FN static SD__UNUSED
/* Small helpers. */
#define SD__IFN static SD__INLINE

typedef struct {
    union {
        uint32_t w32[8]; /* MD5: [0..3]; SHA-256: [0..7] */
        uint64_t w64[8]; /* SHA-512, SHA-512/256 */
    } h;
    uint64_t nlo;  /* bytes hashed so far, low 64 bits */
    uint64_t nhi;  /* ... high 64 bits (only SHA-512 can need them) */
    unsigned char buf[128]; /* partial block (64 bytes used for MD5/SHA-256) */
    unsigned int buflen;    /* bytes pending in buf, always < block size */
    int alg;                /* SD_MD5 ... SD_SHA512_TRUNC, or -1 if invalid */
} sd_ctx;

/* ------------------------------------------------------------------------ */
/* Byte/word helpers                                                        */
/* ------------------------------------------------------------------------ */

SD__IFN uint32_t sd__rotl32(uint32_t x, unsigned n) /* 0 < n < 32 */
{
    return (x << n) | (x >> (32u - n));
}

SD__IFN uint32_t sd__rotr32(uint32_t x, unsigned n) /* 0 < n < 32 */
{
    return (x >> n) | (x << (32u - n));
}

SD__IFN uint64_t sd__rotr64(uint64_t x, unsigned n) /* 0 < n < 64 */
{
    return (x >> n) | (x << (64u - n));
}

SD__IFN uint32_t sd__load32le(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

SD__IFN uint32_t sd__load32be(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

SD__IFN uint64_t sd__load64be(const unsigned char *p)
{
    return ((uint64_t)sd__load32be(p) << 32) | (uint64_t)sd__load32be(p + 4);
}

SD__IFN void sd__store32le(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v);
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

SD__IFN void sd__store32be(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)(v);
}

SD__IFN void sd__store64be(unsigned char *p, uint64_t v)
{
    sd__store32be(p, (uint32_t)(v >> 32));
    sd__store32be(p + 4, (uint32_t)v);
}

/* ------------------------------------------------------------------------ */
/* MD5 -- RFC 1321                                                          */
/* ------------------------------------------------------------------------ */

/* Auxiliary functions, RFC 1321 §3.4, in equivalent cheaper forms:
   F = (X&Y)|(~X&Z) = Z^(X&(Y^Z));  G = (X&Z)|(Y&~Z) = Y^(Z&(X^Y)). */
#define SD__MD5_F(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define SD__MD5_G(x, y, z) ((y) ^ ((z) & ((x) ^ (y))))
#define SD__MD5_H(x, y, z) ((x) ^ (y) ^ (z))
#define SD__MD5_I(x, y, z) ((y) ^ ((x) | ~(z)))

/* One step, RFC 1321 §3.4: a = b + ((a + f(b,c,d) + X[k] + T[i]) <<< s). */
#define SD__MD5_STEP(f, a, b, c, d, k, t, s)                                  \
    do {                                                                      \
        (a) += f((b), (c), (d)) + X[k] + (uint32_t)(t);                       \
        (a) = sd__rotl32((a), (s)) + (b);                                     \
    } while (0)

SD__FN void sd__md5_blocks(uint32_t *st, const unsigned char *p, size_t nblk)
{
    uint32_t X[16];
    uint32_t a, b, c, d;
    int j;

    while (nblk--) {
        for (j = 0; j < 16; j++)
            X[j] = sd__load32le(p + 4 * j);
        a = st[0];
        b = st[1];
        c = st[2];
        d = st[3];

        /* T[i] = floor(2^32 * |sin(i)|), the table of RFC 1321 §3.4. */
        /* Round 1: X[i], shifts 7 12 17 22. */
        SD__MD5_STEP(SD__MD5_F, a, b, c, d, 0, 0xd76aa478, 7);
        SD__MD5_STEP(SD__MD5_F, d, a, b, c, 1, 0xe8c7b756, 12);
        SD__MD5_STEP(SD__MD5_F, c, d, a, b, 2, 0x242070db, 17);
        SD__MD5_STEP(SD__MD5_F, b, c, d, a, 3, 0xc1bdceee, 22);
        SD__MD5_STEP(SD__MD5_F, a, b, c, d, 4, 0xf57c0faf, 7);
        SD__MD5_STEP(SD__MD5_F, d, a, b, c, 5, 0x4787c62a, 12);
        SD__MD5_STEP(SD__MD5_F, c, d, a, b, 6, 0xa8304613, 17);
        SD__MD5_STEP(SD__MD5_F, b, c, d, a, 7, 0xfd469501, 22);
        SD__MD5_STEP(SD__MD5_F, a, b, c, d, 8, 0x698098d8, 7);
        SD__MD5_STEP(SD__MD5_F, d, a, b, c, 9, 0x8b44f7af, 12);
        SD__MD5_STEP(SD__MD5_F, c, d, a, b, 10, 0xffff5bb1, 17);
        SD__MD5_STEP(SD__MD5_F, b, c, d, a, 11, 0x895cd7be, 22);
        SD__MD5_STEP(SD__MD5_F, a, b, c, d, 12, 0x6b901122, 7);
        SD__MD5_STEP(SD__MD5_F, d, a, b, c, 13, 0xfd987193, 12);
        SD__MD5_STEP(SD__MD5_F, c, d, a, b, 14, 0xa679438e, 17);
        SD__MD5_STEP(SD__MD5_F, b, c, d, a, 15, 0x49b40821, 22);

        /* Round 2: X[(1 + 5i) mod 16], shifts 5 9 14 20. */
        SD__MD5_STEP(SD__MD5_G, a, b, c, d, 1, 0xf61e2562, 5);
        SD__MD5_STEP(SD__MD5_G, d, a, b, c, 6, 0xc040b340, 9);
        SD__MD5_STEP(SD__MD5_G, c, d, a, b, 11, 0x265e5a51, 14);
        SD__MD5_STEP(SD__MD5_G, b, c, d, a, 0, 0xe9b6c7aa, 20);
        SD__MD5_STEP(SD__MD5_G, a, b, c, d, 5, 0xd62f105d, 5);
        SD__MD5_STEP(SD__MD5_G, d, a, b, c, 10, 0x02441453, 9);
        SD__MD5_STEP(SD__MD5_G, c, d, a, b, 15, 0xd8a1e681, 14);
        SD__MD5_STEP(SD__MD5_G, b, c, d, a, 4, 0xe7d3fbc8, 20);
        SD__MD5_STEP(SD__MD5_G, a, b, c, d, 9, 0x21e1cde6, 5);
        SD__MD5_STEP(SD__MD5_G, d, a, b, c, 14, 0xc33707d6, 9);
        SD__MD5_STEP(SD__MD5_G, c, d, a, b, 3, 0xf4d50d87, 14);
        SD__MD5_STEP(SD__MD5_G, b, c, d, a, 8, 0x455a14ed, 20);
        SD__MD5_STEP(SD__MD5_G, a, b, c, d, 13, 0xa9e3e905, 5);
        SD__MD5_STEP(SD__MD5_G, d, a, b, c, 2, 0xfcefa3f8, 9);
        SD__MD5_STEP(SD__MD5_G, c, d, a, b, 7, 0x676f02d9, 14);
        SD__MD5_STEP(SD__MD5_G, b, c, d, a, 12, 0x8d2a4c8a, 20);

        /* Round 3: X[(5 + 3i) mod 16], shifts 4 11 16 23. */
        SD__MD5_STEP(SD__MD5_H, a, b, c, d, 5, 0xfffa3942, 4);
        SD__MD5_STEP(SD__MD5_H, d, a, b, c, 8, 0x8771f681, 11);
        SD__MD5_STEP(SD__MD5_H, c, d, a, b, 11, 0x6d9d6122, 16);
        SD__MD5_STEP(SD__MD5_H, b, c, d, a, 14, 0xfde5380c, 23);
        SD__MD5_STEP(SD__MD5_H, a, b, c, d, 1, 0xa4beea44, 4);
        SD__MD5_STEP(SD__MD5_H, d, a, b, c, 4, 0x4bdecfa9, 11);
        SD__MD5_STEP(SD__MD5_H, c, d, a, b, 7, 0xf6bb4b60, 16);
        SD__MD5_STEP(SD__MD5_H, b, c, d, a, 10, 0xbebfbc70, 23);
        SD__MD5_STEP(SD__MD5_H, a, b, c, d, 13, 0x289b7ec6, 4);
        SD__MD5_STEP(SD__MD5_H, d, a, b, c, 0, 0xeaa127fa, 11);
        SD__MD5_STEP(SD__MD5_H, c, d, a, b, 3, 0xd4ef3085, 16);
        SD__MD5_STEP(SD__MD5_H, b, c, d, a, 6, 0x04881d05, 23);
        SD__MD5_STEP(SD__MD5_H, a, b, c, d, 9, 0xd9d4d039, 4);
        SD__MD5_STEP(SD__MD5_H, d, a, b, c, 12, 0xe6db99e5, 11);
        SD__MD5_STEP(SD__MD5_H, c, d, a, b, 15, 0x1fa27cf8, 16);
        SD__MD5_STEP(SD__MD5_H, b, c, d, a, 2, 0xc4ac5665, 23);

        /* Round 4: X[7i mod 16], shifts 6 10 15 21. */
        SD__MD5_STEP(SD__MD5_I, a, b, c, d, 0, 0xf4292244, 6);
        SD__MD5_STEP(SD__MD5_I, d, a, b, c, 7, 0x432aff97, 10);
        SD__MD5_STEP(SD__MD5_I, c, d, a, b, 14, 0xab9423a7, 15);
        SD__MD5_STEP(SD__MD5_I, b, c, d, a, 5, 0xfc93a039, 21);
        SD__MD5_STEP(SD__MD5_I, a, b, c, d, 12, 0x655b59c3, 6);
        SD__MD5_STEP(SD__MD5_I, d, a, b, c, 3, 0x8f0ccc92, 10);
        SD__MD5_STEP(SD__MD5_I, c, d, a, b, 10, 0xffeff47d, 15);
        SD__MD5_STEP(SD__MD5_I, b, c, d, a, 1, 0x85845dd1, 21);
        SD__MD5_STEP(SD__MD5_I, a, b, c, d, 8, 0x6fa87e4f, 6);
        SD__MD5_STEP(SD__MD5_I, d, a, b, c, 15, 0xfe2ce6e0, 10);
        SD__MD5_STEP(SD__MD5_I, c, d, a, b, 6, 0xa3014314, 15);
        SD__MD5_STEP(SD__MD5_I, b, c, d, a, 13, 0x4e0811a1, 21);
        SD__MD5_STEP(SD__MD5_I, a, b, c, d, 4, 0xf7537e82, 6);
        SD__MD5_STEP(SD__MD5_I, d, a, b, c, 11, 0xbd3af235, 10);
        SD__MD5_STEP(SD__MD5_I, c, d, a, b, 2, 0x2ad7d2bb, 15);
        SD__MD5_STEP(SD__MD5_I, b, c, d, a, 9, 0xeb86d391, 21);

        st[0] += a;
        st[1] += b;
        st[2] += c;
        st[3] += d;
        p += 64;
    }
}

/* ------------------------------------------------------------------------ */
/* SHA-256 -- FIPS 180-4 §6.2                                               */
/* ------------------------------------------------------------------------ */

/* Ch and Maj, FIPS 180-4 §4.1.2 (eq. 4.2, 4.3), in equivalent forms:
   Ch = (x&y)^(~x&z) = z^(x&(y^z));  Maj = (x&y)^(x&z)^(y&z) = (x&y)|(z&(x|y)).
   The SHA-512 functions of §4.1.3 are the same on 64-bit words. */
#define SD__CH(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define SD__MAJ(x, y, z) (((x) & (y)) | ((z) & ((x) | (y))))

/* FIPS 180-4 §4.1.2, eq. 4.4 - 4.7. */
#define SD__S256_BSIG0(x) (sd__rotr32((x), 2) ^ sd__rotr32((x), 13) ^ sd__rotr32((x), 22))
#define SD__S256_BSIG1(x) (sd__rotr32((x), 6) ^ sd__rotr32((x), 11) ^ sd__rotr32((x), 25))
#define SD__S256_SSIG0(x) (sd__rotr32((x), 7) ^ sd__rotr32((x), 18) ^ ((x) >> 3))
#define SD__S256_SSIG1(x) (sd__rotr32((x), 17) ^ sd__rotr32((x), 19) ^ ((x) >> 10))

/* SHA-256 constants K0..K63, FIPS 180-4 §4.2.2 (first 32 bits of the
   fractional parts of the cube roots of the first 64 primes). */
static SD__UNUSED const uint32_t sd__k256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

/* SHA-256 initial hash value H(0), FIPS 180-4 §5.3.3. */
static SD__UNUSED const uint32_t sd__iv256[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

/* One round of §6.2.2 step 3 with the working variables renamed rather than
   moved: the caller rotates the argument list by one each round. */
#define SD__S256_RND(a, b, c, d, e, f, g, h, i)                              \
    do {                                                                      \
        uint32_t t1_ = (h) + SD__S256_BSIG1(e) + SD__CH((e), (f), (g)) +      \
                       sd__k256[(i)] + W[(i)];                                \
        (d) += t1_;                                                           \
        (h) = t1_ + SD__S256_BSIG0(a) + SD__MAJ((a), (b), (c));               \
    } while (0)

/* x86-64 SHA extensions (SHA-NI): the same compression in hardware, about six
   times faster than the rounds above (a 1 KiB auth-int body is 16 blocks). Used
   only when CPUID says the CPU has them (checked once); SD_NO_SHANI disables the
   path at compile time. The four SHA-256 rounds per step follow the instructions'
   definitions (Intel SDM: SHA256RNDS2 takes C,D,G,H and A,B,E,F and two W+K
   words; SHA256MSG1/MSG2 compute the sigma0/sigma1 parts of the schedule). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) &&       \
    !defined(SD_NO_SHANI) && !defined(__cplusplus)
#define SD__SHANI 1
#include <cpuid.h>
#include <immintrin.h>

__attribute__((target("sha,sse4.1,ssse3"))) static SD__UNUSED void
sd__sha256_blocks_shani(uint32_t *st, const unsigned char *p, size_t nblk)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i abef, cdgh, tmp, save0, save1, wk, w0, w1, w2, w3, w4;
    int i;

    /* st is A..H; the instructions want the state as ABEF and CDGH, lane 3 first */
    tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)st), 0xB1);
    cdgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)(st + 4)), 0x1B);
    abef = _mm_alignr_epi8(tmp, cdgh, 8);
    cdgh = _mm_blend_epi16(cdgh, tmp, 0xF0);

    while (nblk--) {
        save0 = abef;
        save1 = cdgh;
        w0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)p), bswap);
        w1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 16)), bswap);
        w2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 32)), bswap);
        w3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(p + 48)), bswap);
        for (i = 0; i < 16; i++) {
            /* w0 holds W[4i..4i+3]; four rounds, two per instruction */
            wk = _mm_add_epi32(w0, _mm_loadu_si128((const __m128i *)(const void *)(sd__k256 + 4 * i)));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
            abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0E));
            /* W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16], four at a time */
            w4 = _mm_sha256msg1_epu32(w0, w1);
            w4 = _mm_add_epi32(w4, _mm_alignr_epi8(w3, w2, 4));
            w4 = _mm_sha256msg2_epu32(w4, w3);
            w0 = w1;
            w1 = w2;
            w2 = w3;
            w3 = w4;
        }
        abef = _mm_add_epi32(abef, save0);
        cdgh = _mm_add_epi32(cdgh, save1);
        p += 64;
    }

    tmp = _mm_shuffle_epi32(abef, 0x1B);
    cdgh = _mm_shuffle_epi32(cdgh, 0xB1);
    _mm_storeu_si128((__m128i *)(void *)st, _mm_blend_epi16(tmp, cdgh, 0xF0));
    _mm_storeu_si128((__m128i *)(void *)(st + 4), _mm_alignr_epi8(cdgh, tmp, 8));
}

/* 1 if the CPU has SHA-NI, SSSE3 and SSE4.1; 0 if not; -1 before the first check
   (a race only repeats the check: every thread stores the same answer). */
static int sd__shani = -1;

SD__IFN int sd__has_shani(void)
{
    unsigned int a, b, c, d;
    int ok = 0;
    if (sd__shani >= 0)
        return sd__shani;
    if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 9)) && (c & (1u << 19)) &&
        __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29)))
        ok = 1;
    sd__shani = ok;
    return ok;
}
#endif

/* Whether SHA-256 runs on SHA-NI: allow = 0 forces the portable rounds (tests
   compare the two), allow = 1 uses the hardware when the CPU has it. */
SD__FN int sd_sha256_hw(int allow)
{
#ifdef SD__SHANI
    sd__shani = -1;
    if (!allow)
        sd__shani = 0;
    return sd__has_shani();
#else
    (void)allow;
    return 0;
#endif
}

/* Whether SHA-256 runs on SHA-NI now (sd_sha256_hw's last choice; the CPU's answer
   before any). */
SD__FN int sd_sha256_on_hw(void)
{
#ifdef SD__SHANI
    return sd__has_shani();
#else
    return 0;
#endif
}

SD__FN void sd__sha256_blocks(uint32_t *st, const unsigned char *p, size_t nblk)
{
    uint32_t W[64];
    uint32_t a, b, c, d, e, f, g, h;
    int t;

#ifdef SD__SHANI
    if (sd__has_shani()) {
        sd__sha256_blocks_shani(st, p, nblk);
        return;
    }
#endif
    while (nblk--) {
        /* Message schedule, §6.2.2 step 1. */
        for (t = 0; t < 16; t++)
            W[t] = sd__load32be(p + 4 * t);
        for (t = 16; t < 64; t++)
            W[t] = SD__S256_SSIG1(W[t - 2]) + W[t - 7] +
                   SD__S256_SSIG0(W[t - 15]) + W[t - 16];

        a = st[0];
        b = st[1];
        c = st[2];
        d = st[3];
        e = st[4];
        f = st[5];
        g = st[6];
        h = st[7];
        for (t = 0; t < 64; t += 8) {
            SD__S256_RND(a, b, c, d, e, f, g, h, t);
            SD__S256_RND(h, a, b, c, d, e, f, g, t + 1);
            SD__S256_RND(g, h, a, b, c, d, e, f, t + 2);
            SD__S256_RND(f, g, h, a, b, c, d, e, t + 3);
            SD__S256_RND(e, f, g, h, a, b, c, d, t + 4);
            SD__S256_RND(d, e, f, g, h, a, b, c, t + 5);
            SD__S256_RND(c, d, e, f, g, h, a, b, t + 6);
            SD__S256_RND(b, c, d, e, f, g, h, a, t + 7);
        }
        st[0] += a;
        st[1] += b;
        st[2] += c;
        st[3] += d;
        st[4] += e;
        st[5] += f;
        st[6] += g;
        st[7] += h;
        p += 64;
    }
}

/* ------------------------------------------------------------------------ */
/* SHA-512 family -- FIPS 180-4 §6.4 (SHA-512), §6.7 (SHA-512/t)            */
/* ------------------------------------------------------------------------ */

/* FIPS 180-4 §4.1.3, eq. 4.10 - 4.13. */
#define SD__S512_BSIG0(x) (sd__rotr64((x), 28) ^ sd__rotr64((x), 34) ^ sd__rotr64((x), 39))
#define SD__S512_BSIG1(x) (sd__rotr64((x), 14) ^ sd__rotr64((x), 18) ^ sd__rotr64((x), 41))
#define SD__S512_SSIG0(x) (sd__rotr64((x), 1) ^ sd__rotr64((x), 8) ^ ((x) >> 7))
#define SD__S512_SSIG1(x) (sd__rotr64((x), 19) ^ sd__rotr64((x), 61) ^ ((x) >> 6))

/* SHA-512 constants K0..K79, FIPS 180-4 §4.2.3 (first 64 bits of the
   fractional parts of the cube roots of the first 80 primes). */
static SD__UNUSED const uint64_t sd__k512[80] = {
    UINT64_C(0x428a2f98d728ae22), UINT64_C(0x7137449123ef65cd),
    UINT64_C(0xb5c0fbcfec4d3b2f), UINT64_C(0xe9b5dba58189dbbc),
    UINT64_C(0x3956c25bf348b538), UINT64_C(0x59f111f1b605d019),
    UINT64_C(0x923f82a4af194f9b), UINT64_C(0xab1c5ed5da6d8118),
    UINT64_C(0xd807aa98a3030242), UINT64_C(0x12835b0145706fbe),
    UINT64_C(0x243185be4ee4b28c), UINT64_C(0x550c7dc3d5ffb4e2),
    UINT64_C(0x72be5d74f27b896f), UINT64_C(0x80deb1fe3b1696b1),
    UINT64_C(0x9bdc06a725c71235), UINT64_C(0xc19bf174cf692694),
    UINT64_C(0xe49b69c19ef14ad2), UINT64_C(0xefbe4786384f25e3),
    UINT64_C(0x0fc19dc68b8cd5b5), UINT64_C(0x240ca1cc77ac9c65),
    UINT64_C(0x2de92c6f592b0275), UINT64_C(0x4a7484aa6ea6e483),
    UINT64_C(0x5cb0a9dcbd41fbd4), UINT64_C(0x76f988da831153b5),
    UINT64_C(0x983e5152ee66dfab), UINT64_C(0xa831c66d2db43210),
    UINT64_C(0xb00327c898fb213f), UINT64_C(0xbf597fc7beef0ee4),
    UINT64_C(0xc6e00bf33da88fc2), UINT64_C(0xd5a79147930aa725),
    UINT64_C(0x06ca6351e003826f), UINT64_C(0x142929670a0e6e70),
    UINT64_C(0x27b70a8546d22ffc), UINT64_C(0x2e1b21385c26c926),
    UINT64_C(0x4d2c6dfc5ac42aed), UINT64_C(0x53380d139d95b3df),
    UINT64_C(0x650a73548baf63de), UINT64_C(0x766a0abb3c77b2a8),
    UINT64_C(0x81c2c92e47edaee6), UINT64_C(0x92722c851482353b),
    UINT64_C(0xa2bfe8a14cf10364), UINT64_C(0xa81a664bbc423001),
    UINT64_C(0xc24b8b70d0f89791), UINT64_C(0xc76c51a30654be30),
    UINT64_C(0xd192e819d6ef5218), UINT64_C(0xd69906245565a910),
    UINT64_C(0xf40e35855771202a), UINT64_C(0x106aa07032bbd1b8),
    UINT64_C(0x19a4c116b8d2d0c8), UINT64_C(0x1e376c085141ab53),
    UINT64_C(0x2748774cdf8eeb99), UINT64_C(0x34b0bcb5e19b48a8),
    UINT64_C(0x391c0cb3c5c95a63), UINT64_C(0x4ed8aa4ae3418acb),
    UINT64_C(0x5b9cca4f7763e373), UINT64_C(0x682e6ff3d6b2b8a3),
    UINT64_C(0x748f82ee5defb2fc), UINT64_C(0x78a5636f43172f60),
    UINT64_C(0x84c87814a1f0ab72), UINT64_C(0x8cc702081a6439ec),
    UINT64_C(0x90befffa23631e28), UINT64_C(0xa4506cebde82bde9),
    UINT64_C(0xbef9a3f7b2c67915), UINT64_C(0xc67178f2e372532b),
    UINT64_C(0xca273eceea26619c), UINT64_C(0xd186b8c721c0c207),
    UINT64_C(0xeada7dd6cde0eb1e), UINT64_C(0xf57d4f7fee6ed178),
    UINT64_C(0x06f067aa72176fba), UINT64_C(0x0a637dc5a2c898a6),
    UINT64_C(0x113f9804bef90dae), UINT64_C(0x1b710b35131c471b),
    UINT64_C(0x28db77f523047d84), UINT64_C(0x32caab7b40c72493),
    UINT64_C(0x3c9ebe0a15c9bebc), UINT64_C(0x431d67c49c100d4c),
    UINT64_C(0x4cc5d4becb3e42b6), UINT64_C(0x597f299cfc657e2a),
    UINT64_C(0x5fcb6fab3ad6faec), UINT64_C(0x6c44198c4a475817)};

/* SHA-512 initial hash value H(0), FIPS 180-4 §5.3.5. */
static SD__UNUSED const uint64_t sd__iv512[8] = {
    UINT64_C(0x6a09e667f3bcc908), UINT64_C(0xbb67ae8584caa73b),
    UINT64_C(0x3c6ef372fe94f82b), UINT64_C(0xa54ff53a5f1d36f1),
    UINT64_C(0x510e527fade682d1), UINT64_C(0x9b05688c2b3e6c1f),
    UINT64_C(0x1f83d9abfb41bd6b), UINT64_C(0x5be0cd19137e2179)};

/* SHA-512/256 initial hash value H(0), FIPS 180-4 §5.3.6.2 (the output of
   the SHA-512/t IV generation function of §5.3.6 for t = 256). */
static SD__UNUSED const uint64_t sd__iv512_256[8] = {
    UINT64_C(0x22312194fc2bf72c), UINT64_C(0x9f555fa3c84c64c2),
    UINT64_C(0x2393b86b6f53b151), UINT64_C(0x963877195940eabd),
    UINT64_C(0x96283ee2a88effe3), UINT64_C(0xbe5e1e2553863992),
    UINT64_C(0x2b0199fc2c85b8aa), UINT64_C(0x0eb72ddc81c52ca2)};

/* One round of §6.4.2 step 3, variables renamed as for SHA-256. */
#define SD__S512_RND(a, b, c, d, e, f, g, h, i)                              \
    do {                                                                      \
        uint64_t t1_ = (h) + SD__S512_BSIG1(e) + SD__CH((e), (f), (g)) +      \
                       sd__k512[(i)] + W[(i)];                                \
        (d) += t1_;                                                           \
        (h) = t1_ + SD__S512_BSIG0(a) + SD__MAJ((a), (b), (c));               \
    } while (0)

SD__FN void sd__sha512_blocks(uint64_t *st, const unsigned char *p, size_t nblk)
{
    uint64_t W[80];
    uint64_t a, b, c, d, e, f, g, h;
    int t;

    while (nblk--) {
        /* Message schedule, §6.4.2 step 1. */
        for (t = 0; t < 16; t++)
            W[t] = sd__load64be(p + 8 * t);
        for (t = 16; t < 80; t++)
            W[t] = SD__S512_SSIG1(W[t - 2]) + W[t - 7] +
                   SD__S512_SSIG0(W[t - 15]) + W[t - 16];

        a = st[0];
        b = st[1];
        c = st[2];
        d = st[3];
        e = st[4];
        f = st[5];
        g = st[6];
        h = st[7];
        for (t = 0; t < 80; t += 8) {
            SD__S512_RND(a, b, c, d, e, f, g, h, t);
            SD__S512_RND(h, a, b, c, d, e, f, g, t + 1);
            SD__S512_RND(g, h, a, b, c, d, e, f, t + 2);
            SD__S512_RND(f, g, h, a, b, c, d, e, t + 3);
            SD__S512_RND(e, f, g, h, a, b, c, d, t + 4);
            SD__S512_RND(d, e, f, g, h, a, b, c, t + 5);
            SD__S512_RND(c, d, e, f, g, h, a, b, t + 6);
            SD__S512_RND(b, c, d, e, f, g, h, a, t + 7);
        }
        st[0] += a;
        st[1] += b;
        st[2] += c;
        st[3] += d;
        st[4] += e;
        st[5] += f;
        st[6] += g;
        st[7] += h;
        p += 128;
    }
}

/* ------------------------------------------------------------------------ */
/* Generic streaming interface                                              */
/* ------------------------------------------------------------------------ */

/* Digest length in bytes: 16 for MD5, 32 for the others, -1 if unknown. */
SD__IFN int sd_digest_len(int alg)
{
    switch (alg) {
    case SD_MD5:
        return 16;
    case SD_SHA256:
    case SD_SHA512_256:
    case SD_SHA512_TRUNC:
        return 32;
    default:
        return -1;
    }
}

SD__IFN int sd__is_sha512(int alg)
{
    return alg == SD_SHA512_256 || alg == SD_SHA512_TRUNC;
}

/* 0 on success; -1 (and an inert context) for an unknown alg. */
SD__FN int sd_init(sd_ctx *c, int alg)
{
    c->nlo = 0;
    c->nhi = 0;
    c->buflen = 0;
    switch (alg) {
    case SD_MD5:
        /* RFC 1321 §3.3: words A B C D (bytes 01 23 45 67 ... low-order first). */
        c->h.w32[0] = 0x67452301;
        c->h.w32[1] = 0xefcdab89;
        c->h.w32[2] = 0x98badcfe;
        c->h.w32[3] = 0x10325476;
        c->h.w32[4] = c->h.w32[5] = c->h.w32[6] = c->h.w32[7] = 0;
        break;
    case SD_SHA256:
        memcpy(c->h.w32, sd__iv256, sizeof sd__iv256);
        break;
    case SD_SHA512_256:
        memcpy(c->h.w64, sd__iv512_256, sizeof sd__iv512_256);
        break;
    case SD_SHA512_TRUNC:
        memcpy(c->h.w64, sd__iv512, sizeof sd__iv512);
        break;
    default:
        c->alg = -1;
        return -1;
    }
    c->alg = alg;
    return 0;
}

/* Compress nblk whole blocks of the context's algorithm. */
SD__IFN void sd__blocks(sd_ctx *c, const unsigned char *p, size_t nblk)
{
    switch (c->alg) {
    case SD_MD5:
        sd__md5_blocks(c->h.w32, p, nblk);
        break;
    case SD_SHA256:
        sd__sha256_blocks(c->h.w32, p, nblk);
        break;
    default: /* SHA-512 family */
        sd__sha512_blocks(c->h.w64, p, nblk);
        break;
    }
}

SD__FN void sd_update(sd_ctx *c, const void *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t bs, n;
    uint64_t len64;

    if (len == 0 || c->alg < 0 || c->alg >= SD_NALG)
        return;
    bs = sd__is_sha512(c->alg) ? 128 : 64;

    /* 128-bit byte counter (size_t is at most 64 bits on supported targets). */
    len64 = (uint64_t)len;
    c->nlo += len64;
    if (c->nlo < len64)
        c->nhi++;

    if (c->buflen) { /* top up the pending partial block first */
        n = bs - c->buflen;
        if (n > len)
            n = len;
        memcpy(c->buf + c->buflen, p, n);
        c->buflen += (unsigned int)n;
        p += n;
        len -= n;
        if (c->buflen < bs)
            return;
        sd__blocks(c, c->buf, 1);
        c->buflen = 0;
    }
    if (len >= bs) { /* whole blocks straight from the caller's memory */
        n = len / bs;
        sd__blocks(c, p, n);
        p += n * bs;
        len -= n * bs;
    }
    if (len) {
        memcpy(c->buf, p, len);
        c->buflen = (unsigned int)len;
    }
}

/* Writes sd_digest_len(c->alg) bytes to out (nothing for an inert ctx). */
SD__FN void sd_final(sd_ctx *c, unsigned char *out)
{
    size_t bs, lenpos;
    unsigned int i;
    /* Message length in bits, 128 bits wide: (hi:lo) = bytes * 8. */
    uint64_t bits_lo = c->nlo << 3;
    uint64_t bits_hi = (c->nhi << 3) | (c->nlo >> 61);

    if (c->alg < 0 || c->alg >= SD_NALG)
        return;
    bs = sd__is_sha512(c->alg) ? 128 : 64;
    /* Padding (RFC 1321 §3.1-3.2, FIPS 180-4 §5.1.1, §5.1.2): a 1 bit, zeros,
       then the length in the last 8 (MD5, SHA-256) or 16 (SHA-512) bytes. */
    lenpos = bs - (bs == 128 ? 16 : 8);

    c->buf[c->buflen++] = 0x80;
    if (c->buflen > lenpos) { /* no room for the length: one more block */
        memset(c->buf + c->buflen, 0, bs - c->buflen);
        sd__blocks(c, c->buf, 1);
        c->buflen = 0;
    }
    memset(c->buf + c->buflen, 0, lenpos - c->buflen);

    switch (c->alg) {
    case SD_MD5:
        /* Low-order 64 bits of the bit length, low-order word first. */
        sd__store32le(c->buf + 56, (uint32_t)bits_lo);
        sd__store32le(c->buf + 60, (uint32_t)(bits_lo >> 32));
        sd__md5_blocks(c->h.w32, c->buf, 1);
        for (i = 0; i < 4; i++)
            sd__store32le(out + 4 * i, c->h.w32[i]);
        break;
    case SD_SHA256:
        sd__store64be(c->buf + 56, bits_lo);
        sd__sha256_blocks(c->h.w32, c->buf, 1);
        for (i = 0; i < 8; i++)
            sd__store32be(out + 4 * i, c->h.w32[i]);
        break;
    default:
        sd__store64be(c->buf + 112, bits_hi);
        sd__store64be(c->buf + 120, bits_lo);
        sd__sha512_blocks(c->h.w64, c->buf, 1);
        /* SHA-512/256: the leftmost 256 bits (§6.7); the truncation quirk
           takes the same leftmost 256 bits of a plain SHA-512 result. */
        for (i = 0; i < 4; i++)
            sd__store64be(out + 8 * i, c->h.w64[i]);
        break;
    }
    c->buflen = 0;
}

/* Lower-case hex of in[0..n), 2*n chars, no NUL.  No table look-up and no
   branch on the data: nibble v maps to '0'+v, plus 39 ('a'-'0'-10) when
   v > 9, that mask taken from the borrow of 9 - v. */
SD__IFN void sd_hex(const unsigned char *in, size_t n, char *out)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned int hi = (unsigned int)in[i] >> 4, lo = (unsigned int)in[i] & 15u;
        out[2 * i] = (char)('0' + hi + (((9u - hi) >> 8) & 39u));
        out[2 * i + 1] = (char)('0' + lo + (((9u - lo) >> 8) & 39u));
    }
}

/* Writes 2*sd_digest_len(c->alg) hex chars, no NUL (nothing if inert). */
SD__FN void sd_final_hex(sd_ctx *c, char *out)
{
    unsigned char d[SD_MAX_DIGEST];
    int n = sd_digest_len(c->alg);
    if (n < 0)
        return;
    sd_final(c, d);
    sd_hex(d, (size_t)n, out);
}

/* ------------------------------------------------------------------------ */
/* HMAC-SHA-256 -- RFC 2104 §2 (B = 64, L = 32)                             */
/* ------------------------------------------------------------------------ */

SD__FN void sd_hmac_sha256(const void *key, size_t keylen, const void *msg,
                           size_t msglen, unsigned char out[32])
{
    unsigned char k0[64], pad[64], inner[32];
    sd_ctx c;
    int i;

    /* Keys longer than B are first hashed; the key is then zero-padded to B. */
    memset(k0, 0, sizeof k0);
    if (keylen > 64) {
        sd_init(&c, SD_SHA256);
        sd_update(&c, key, keylen);
        sd_final(&c, k0);
    } else if (keylen) {
        memcpy(k0, key, keylen);
    }

    /* inner = H((K ^ ipad) || text), ipad = 0x36 repeated. */
    for (i = 0; i < 64; i++)
        pad[i] = (unsigned char)(k0[i] ^ 0x36);
    sd_init(&c, SD_SHA256);
    sd_update(&c, pad, 64);
    sd_update(&c, msg, msglen);
    sd_final(&c, inner);

    /* out = H((K ^ opad) || inner), opad = 0x5c repeated. */
    for (i = 0; i < 64; i++)
        pad[i] = (unsigned char)(k0[i] ^ 0x5c);
    sd_init(&c, SD_SHA256);
    sd_update(&c, pad, 64);
    sd_update(&c, inner, 32);
    sd_final(&c, out);
}

/* HMAC-SHA-256 with the key's pads hashed once: the inner and outer chaining
   values after the first 64-byte block ((K ^ ipad), (K ^ opad)) are kept, so a
   MAC of a short message costs two compressions instead of four.  The
   midstates are as secret as the key. */
typedef struct {
    uint32_t ih[8]; /* SHA-256 state after (K ^ ipad) */
    uint32_t oh[8]; /* SHA-256 state after (K ^ opad) */
} sd_hmac_key;

SD__FN void sd_hmac_sha256_prep(const void *key, size_t keylen, sd_hmac_key *hk)
{
    unsigned char k0[64], pad[64];
    sd_ctx c;
    int i;

    memset(k0, 0, sizeof k0);
    if (keylen > 64) {
        sd_init(&c, SD_SHA256);
        sd_update(&c, key, keylen);
        sd_final(&c, k0);
    } else if (keylen) {
        memcpy(k0, key, keylen);
    }
    for (i = 0; i < 64; i++)
        pad[i] = (unsigned char)(k0[i] ^ 0x36);
    memcpy(hk->ih, sd__iv256, sizeof sd__iv256);
    sd__sha256_blocks(hk->ih, pad, 1);
    for (i = 0; i < 64; i++)
        pad[i] = (unsigned char)(k0[i] ^ 0x5c);
    memcpy(hk->oh, sd__iv256, sizeof sd__iv256);
    sd__sha256_blocks(hk->oh, pad, 1);
}

/* The same result as sd_hmac_sha256 with the key hk was prepared from. */
SD__FN void sd_hmac_sha256_with(const sd_hmac_key *hk, const void *msg, size_t msglen,
                                unsigned char out[32])
{
    unsigned char inner[32];
    sd_ctx c;

    c.nlo = 64; /* one block, the pad, is already hashed */
    c.nhi = 0;
    c.buflen = 0;
    c.alg = SD_SHA256;
    memcpy(c.h.w32, hk->ih, sizeof hk->ih);
    sd_update(&c, msg, msglen);
    sd_final(&c, inner);

    c.nlo = 64;
    c.nhi = 0;
    c.buflen = 0;
    c.alg = SD_SHA256;
    memcpy(c.h.w32, hk->oh, sizeof hk->oh);
    sd_update(&c, inner, 32);
    sd_final(&c, out);
}

/* ------------------------------------------------------------------------ */
/* Constant-time comparison                                                 */
/* ------------------------------------------------------------------------ */

/* 1 if a[0..n) == b[0..n), else 0.  Reads every byte whatever the contents
   (no early exit) and turns the OR of the differences into 0/1 with
   arithmetic, not a branch: (acc - 1) >> 8 has bit 0 set only if acc == 0.
   The time depends on n only. */
SD__IFN int sd_ct_equal(const void *a, const void *b, size_t n)
{
    const unsigned char *pa = (const unsigned char *)a;
    const unsigned char *pb = (const unsigned char *)b;
    unsigned int acc = 0;
    size_t i;
    for (i = 0; i < n; i++)
        acc |= (unsigned int)(pa[i] ^ pb[i]);
    return (int)(((acc - 1u) >> 8) & 1u);
}

#endif /* SIPDIGEST_SDHASH_H */
