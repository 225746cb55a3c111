//! Philox-4x32-10 with AVX2: eight blocks in the 32-bit lanes of 256-bit
//! registers, two batches interleaved.

use std::arch::x86_64::*;

use super::{LANES, M0, M1, W0, W1};

/// High and low 32 bits of the eight products `a[l] · m`.
#[inline(always)]
unsafe fn mulhilo(a: __m256i, m: __m256i) -> (__m256i, __m256i) {
    let lo = _mm256_mullo_epi32(a, m);
    // 64-bit products of the even lanes and of the odd lanes
    let even = _mm256_mul_epu32(a, m);
    let odd = _mm256_mul_epu32(_mm256_srli_epi64::<32>(a), m);
    // high halves: even products' moved down, odd products' in place
    let hi = _mm256_blend_epi32::<0b1010_1010>(_mm256_srli_epi64::<32>(even), odd);
    (hi, lo)
}

/// Eight doubles `to_unit(hi[l], lo[l])`, lanes 0..4 and 4..8.
#[inline(always)]
unsafe fn to_unit(hi: __m256i, lo: __m256i) -> (__m256d, __m256d) {
    let top = _mm256_srli_epi32::<5>(hi);
    let low = _mm256_or_si256(_mm256_slli_epi32::<21>(hi), _mm256_srli_epi32::<11>(lo));
    let low = _mm256_and_si256(low, _mm256_set1_epi32((1 << 26) - 1));
    let conv = |t: __m128i, l: __m128i| {
        let f = _mm256_add_pd(_mm256_mul_pd(_mm256_cvtepi32_pd(t), _mm256_set1_pd((1u64 << 26) as f64)), _mm256_cvtepi32_pd(l));
        _mm256_mul_pd(f, _mm256_set1_pd(1.0 / (1u64 << 53) as f64))
    };
    let a = conv(_mm256_castsi256_si128(top), _mm256_castsi256_si128(low));
    let b = conv(_mm256_extracti128_si256::<1>(top), _mm256_extracti128_si256::<1>(low));
    (a, b)
}

/// Counter words 0 and 1 of the eight blocks `first .. first + 8`.
#[inline(always)]
unsafe fn counters(first: u64) -> (__m256i, __m256i) {
    let lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    let lo = _mm256_add_epi32(_mm256_set1_epi32(first as u32 as i32), lanes);
    // the high words are equal unless the low words wrap inside the batch
    let mut c1 = _mm256_set1_epi32((first >> 32) as u32 as i32);
    if (first as u32).checked_add(LANES as u32 - 1).is_none() {
        let carry = _mm256_cmpgt_epi32(_mm256_set1_epi32(LANES as i32), lo); // lanes that wrapped to small values
        let carry = _mm256_and_si256(carry, _mm256_cmpgt_epi32(_mm256_set1_epi32(first as u32 as i32 ^ i32::MIN), _mm256_xor_si256(lo, _mm256_set1_epi32(i32::MIN))));
        c1 = _mm256_sub_epi32(c1, carry);
    }
    (lo, c1)
}

/// Philox-4x32-10 of `G` batches of eight blocks at once, interleaved
/// round by round (one batch's rounds are a dependency chain), from
/// counter words 0 and 1 (words 2 and 3 are zero) and the round keys.
#[inline(always)]
unsafe fn rounds<const G: usize>(c0: [__m256i; G], c1: [__m256i; G], keys: &[[__m256i; 2]; 10]) -> [[__m256i; 4]; G] {
    let (m0, m1) = (_mm256_set1_epi32(M0 as i32), _mm256_set1_epi32(M1 as i32));
    let mut c = [[_mm256_setzero_si256(); 4]; G];
    // round 1 with words 2 and 3 zero: their product is zero
    for g in 0..G {
        let (hi0, lo0) = mulhilo(c0[g], m0);
        c[g] = [_mm256_xor_si256(c1[g], keys[0][0]), _mm256_setzero_si256(), _mm256_xor_si256(hi0, keys[0][1]), lo0];
    }
    for key in &keys[1..] {
        for cg in c.iter_mut() {
            let (hi0, lo0) = mulhilo(cg[0], m0);
            let (hi1, lo1) = mulhilo(cg[2], m1);
            let n0 = _mm256_xor_si256(_mm256_xor_si256(hi1, cg[1]), key[0]);
            let n2 = _mm256_xor_si256(_mm256_xor_si256(hi0, cg[3]), key[1]);
            *cg = [n0, lo1, n2, lo0];
        }
    }
    c
}

/// Store the sixteen values of one batch: value 2l from words (0, 1) of
/// block l, value 2l + 1 from words (2, 3).
#[inline(always)]
unsafe fn store(c: [__m256i; 4], p: *mut f64) {
    let (e0, e1) = to_unit(c[0], c[1]);
    let (o0, o1) = to_unit(c[2], c[3]);
    for (k, (e, o)) in [(e0, o0), (e1, o1)].into_iter().enumerate() {
        let x = _mm256_unpacklo_pd(e, o); // e0 o0 e2 o2
        let y = _mm256_unpackhi_pd(e, o); // e1 o1 e3 o3
        _mm256_storeu_pd(p.add(8 * k), _mm256_permute2f128_pd::<0x20>(x, y));
        _mm256_storeu_pd(p.add(8 * k + 4), _mm256_permute2f128_pd::<0x31>(x, y));
    }
}

#[target_feature(enable = "avx2")]
pub unsafe fn fill_batches(seed: u64, start: u64, out: &mut [f64]) -> usize {
    // the round keys, broadcast once
    let (mut k0, mut k1) = (seed as u32, (seed >> 32) as u32);
    let mut keys = [[_mm256_setzero_si256(); 2]; 10];
    for k in keys.iter_mut() {
        *k = [_mm256_set1_epi32(k0 as i32), _mm256_set1_epi32(k1 as i32)];
        k0 = k0.wrapping_add(W0);
        k1 = k1.wrapping_add(W1);
    }
    const B: usize = 2 * LANES; // values per batch
    let mut i = 0;
    // two batches at a time (measured on AMD EPYC: 1.55x one at a time;
    // four spill registers and are slower than two)
    for pair in out.chunks_exact_mut(2 * B) {
        let first = (start + i as u64) >> 1;
        let (a0, a1) = counters(first);
        let (b0, b1) = counters(first + LANES as u64);
        let [ca, cb] = rounds::<2>([a0, b0], [a1, b1], &keys);
        store(ca, pair.as_mut_ptr());
        store(cb, pair.as_mut_ptr().add(B));
        i += 2 * B;
    }
    if out.len() - i >= B {
        let (a0, a1) = counters((start + i as u64) >> 1);
        let [ca] = rounds::<1>([a0], [a1], &keys);
        store(ca, out.as_mut_ptr().add(i));
        i += B;
    }
    i
}
