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
        let mut v = vec![0.0; 9];
        fill_uniform01(7, 3, &mut v);
        for (k, x) in v.iter().enumerate() {
            assert_eq!(*x, uniform01(7, 3 + k as u64));
            assert!((0.0..1.0).contains(x));
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
