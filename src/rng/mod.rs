//! Counter-based random numbers (Philox4x32-10). The value at flat index `i`
//! of an array depends only on `(seed, i)`: the same whatever the chunking,
//! and reproducible on any backend that implements the same function.

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

#[inline(always)]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = (a as u64) * (b as u64);
    ((p >> 32) as u32, p as u32)
}

/// The Philox4x32 block function with 10 rounds.
#[inline(always)]
pub fn philox4x32_10(mut c: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (mut k0, mut k1) = (key[0], key[1]);
    for _ in 0..10 {
        let (hi0, lo0) = mulhilo(M0, c[0]);
        let (hi1, lo1) = mulhilo(M1, c[2]);
        c = [hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0];
        k0 = k0.wrapping_add(W0);
        k1 = k1.wrapping_add(W1);
    }
    c
}

#[inline(always)]
fn block(seed: u64, counter: u64) -> [u32; 4] {
    philox4x32_10([counter as u32, (counter >> 32) as u32, 0, 0], [seed as u32, (seed >> 32) as u32])
}

#[inline(always)]
fn to_unit(hi: u32, lo: u32) -> f64 {
    let x = ((hi as u64) << 32) | lo as u64;
    (x >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Uniform on [0, 1) at flat index `i`: one Philox block gives two values,
/// index `i` takes half `i % 2` of block `i / 2`.
#[inline]
pub fn uniform01(seed: u64, i: u64) -> f64 {
    let r = block(seed, i >> 1);
    if i & 1 == 0 {
        to_unit(r[0], r[1])
    } else {
        to_unit(r[2], r[3])
    }
}

/// Standard normal at flat index `i` (Box–Muller on the two halves of block `i`).
#[inline]
pub fn standard_normal(seed: u64, i: u64) -> f64 {
    let r = block(seed ^ 0x5DEE_CE66_D1CE_4E5B, i);
    let u1 = to_unit(r[0], r[1]);
    let u2 = to_unit(r[2], r[3]);
    (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Fill `out` with uniform values on [0,1) for flat indices `start..start+out.len()`.
pub fn fill_uniform01(seed: u64, start: u64, out: &mut [f64]) {
    let mut i = 0usize;
    let n = out.len();
    if start & 1 == 1 && n > 0 {
        out[0] = uniform01(seed, start);
        i = 1;
    }
    i += fill_batches(seed, start + i as u64, &mut out[i..]);
    if n - i >= 8 {
        // less than a vector batch left (a tile's row ends): whole batches
        // on the stack beat the scalar blocks
        let mut tail = [0f64; TAIL];
        let want = (n - i).next_multiple_of(32).min(TAIL);
        let m = fill_batches(seed, start + i as u64, &mut tail[..want]).min(n - i);
        out[i..i + m].copy_from_slice(&tail[..m]);
        i += m;
    }
    while i + 1 < n {
        let r = block(seed, (start + i as u64) >> 1);
        out[i] = to_unit(r[0], r[1]);
        out[i + 1] = to_unit(r[2], r[3]);
        i += 2;
    }
    if i < n {
        out[i] = uniform01(seed, start + i as u64);
    }
}

const LANES: usize = 8;
/// The stack buffer that ends a row: whole vector batches (32 values on
/// AVX-512, 16 on AVX2) covering up to 64 values.
const TAIL: usize = 64;

/// Fill whole batches of values from an even `start` with the vector code
/// of the [`simd::level`](crate::simd::level); the count filled (the rest,
/// fewer than one batch, is the caller's).
fn fill_batches(seed: u64, start: u64, out: &mut [f64]) -> usize {
    fill_batches_on(crate::simd::level(), seed, start, out)
}

/// [`fill_batches`] on `level`, which the CPU must support.
fn fill_batches_on(level: crate::simd::Level, seed: u64, start: u64, out: &mut [f64]) -> usize {
    use crate::simd::Level;
    assert!(level <= crate::simd::detected(), "{level:?} on a CPU without it");
    match level {
        // SAFETY: the CPU has AVX-512 F and DQ (checked above).
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => unsafe { avx512::fill_batches(seed, start, out) },
        // SAFETY: the CPU has AVX2 (checked above).
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => unsafe { avx2::fill_batches(seed, start, out) },
        _ => fill_batches_any(seed, start, out),
    }
}

/// [`fill_batches`] without vector instructions (what the compiler makes of it).
fn fill_batches_any(seed: u64, start: u64, out: &mut [f64]) -> usize {
    let key = [seed as u32, (seed >> 32) as u32];
    let mut i = 0;
    for batch in out.chunks_exact_mut(2 * LANES) {
        let r = blocks_x(key, (start + i as u64) >> 1);
        for l in 0..LANES {
            batch[2 * l] = to_unit_x(r[0][l], r[1][l]);
            batch[2 * l + 1] = to_unit_x(r[2][l], r[3][l]);
        }
        i += 2 * LANES;
    }
    i
}

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;

/// [`to_unit`], bit for bit, through two exact i32 → f64 conversions
/// (26 and 27 bits) that vectorize, where a u64 → f64 one does not (AVX2).
#[inline(always)]
fn to_unit_x(hi: u32, lo: u32) -> f64 {
    // the top 53 bits of hi:lo, as 27 high and 26 low bits
    let top = (hi >> 5) as i32;
    let low = (((hi & 31) << 21) | (lo >> 11)) as i32;
    (top as f64 * (1u64 << 26) as f64 + low as f64) * (1.0 / (1u64 << 53) as f64)
}

/// Philox-4x32-10 of the counters `first .. first + LANES` (as [`block`]
/// makes them), word by word: `r[w][l]` is word w of block `first + l`.
#[inline(always)]
fn blocks_x(key: [u32; 2], first: u64) -> [[u32; LANES]; 4] {
    let mut c = [[0u32; LANES]; 4];
    for l in 0..LANES {
        let ctr = first + l as u64;
        c[0][l] = ctr as u32;
        c[1][l] = (ctr >> 32) as u32;
    }
    let (mut k0, mut k1) = (key[0], key[1]);
    for _ in 0..10 {
        let mut n = [[0u32; LANES]; 4];
        for l in 0..LANES {
            let p0 = M0 as u64 * c[0][l] as u64;
            let p1 = M1 as u64 * c[2][l] as u64;
            n[0][l] = (p1 >> 32) as u32 ^ c[1][l] ^ k0;
            n[1][l] = p1 as u32;
            n[2][l] = (p0 >> 32) as u32 ^ c[3][l] ^ k1;
            n[3][l] = p0 as u32;
        }
        c = n;
        k0 = k0.wrapping_add(W0);
        k1 = k1.wrapping_add(W1);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn philox_known_answer() {
        // Random123 known-answer test vector for philox4x32-10 with zero counter and key
        assert_eq!(philox4x32_10([0, 0, 0, 0], [0, 0]), [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    }

    #[test]
    fn fill_matches_pointwise() {
        // odd and even starts, lengths around the lane batches
        // (the last ones cross a 2^32 boundary of the block counter)
        for (start, len) in [(3, 9), (0, 16), (1, 17), (5, 40), (0, 100), (0, 1000), (1, 2000), (4, 31), (2, 8), (0, 7), (1u64 << 33, 37), ((1u64 << 33) - 6, 40), ((1u64 << 34) - 3, 64), (7, 250), ((1u64 << 33) - 20, 90)] {
            let mut v = vec![0.0; len];
            fill_uniform01(7, start, &mut v);
            for (k, x) in v.iter().enumerate() {
                assert_eq!(*x, uniform01(7, start + k as u64), "start {start}, element {k}");
                assert!((0.0..1.0).contains(x));
            }
        }
    }

    #[test]
    fn every_vector_path_matches_pointwise() {
        // each instruction set this CPU has (the others are covered on
        // machines that have them), across batch sizes and a 2^32 carry
        for level in crate::simd::supported() {
            for (start, len) in [(0u64, 48), (16, 100), ((1u64 << 33) - 6, 200), ((1u64 << 33) - 40, 64), (2, 31)] {
                let mut v = vec![-1.0; len];
                let n = fill_batches_on(level, 9, start, &mut v);
                assert!(n <= len && len - n < 32, "{level:?}: {n} of {len}");
                for (k, x) in v[..n].iter().enumerate() {
                    assert_eq!(*x, uniform01(9, start + k as u64), "{level:?}, start {start}, element {k}");
                }
                assert!(v[n..].iter().all(|x| *x == -1.0), "{level:?} wrote past its count");
            }
        }
    }

    #[test]
    fn moments_are_plausible() {
        let n = 100_000u64;
        let m: f64 = (0..n).map(|i| uniform01(1, i)).sum::<f64>() / n as f64;
        assert!((m - 0.5).abs() < 0.01, "{m}");
        let z: Vec<f64> = (0..n).map(|i| standard_normal(1, i)).collect();
        let zm = z.iter().sum::<f64>() / n as f64;
        let zv = z.iter().map(|x| (x - zm) * (x - zm)).sum::<f64>() / n as f64;
        assert!(zm.abs() < 0.02 && (zv - 1.0).abs() < 0.02, "{zm} {zv}");
    }
}

