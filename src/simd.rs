//! Which SIMD instruction set the CPU kernels use (the Philox generator,
//! `vmath`, the interpreter's loops, the pairwise sum), chosen once at run time: the crate is
//! built for baseline x86-64 (SSE2), and each kernel has a copy compiled for
//! AVX2 + FMA and one for AVX-512 that it calls when [`level`] allows.
//!
//! Every level computes the same values (the same IEEE operations, or a
//! generator's exact integer arithmetic); `vmath` results may differ in the
//! last bit between the portable path (no FMA) and the others, each within
//! its tested error bound.
//!
//! A copy for a level enables at most the features [`detected`] checks for
//! it: `#[target_feature(enable = "avx2,fma")]` for [`Level::Avx2`],
//! `"avx2,fma,avx512f,avx512dq,avx512vl,avx512bw"` for [`Level::Avx512`].
//!
//! `FLOE_SIMD=portable|avx2|avx512` caps the level (never above what the CPU
//! has): to compare the paths in one benchmark run or to rule one out.

use std::sync::OnceLock;

/// An instruction-set level; later ones include the earlier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// What the compiler makes of plain loops for the build target.
    Portable,
    /// AVX2 and FMA (256-bit vectors).
    Avx2,
    /// AVX-512 F, DQ, VL and BW (512-bit vectors, mask registers).
    Avx512,
}

impl Level {
    fn parse(s: &str) -> Option<Level> {
        match s.trim().to_ascii_lowercase().as_str() {
            "portable" | "none" | "scalar" => Some(Level::Portable),
            "avx2" => Some(Level::Avx2),
            "avx512" | "avx-512" => Some(Level::Avx512),
            _ => None,
        }
    }
}

/// The highest level the CPU supports (detected once).
pub fn detected() -> Level {
    static DETECTED: OnceLock<Level> = OnceLock::new();
    *DETECTED.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if has!("avx512f") && has!("avx512dq") && has!("avx512vl") && has!("avx512bw") && has!("fma") {
                return Level::Avx512;
            }
            if has!("avx2") && has!("fma") {
                return Level::Avx2;
            }
        }
        Level::Portable
    })
}

/// Every level the CPU supports, lowest first (tests run each kernel on all).
pub fn supported() -> Vec<Level> {
    [Level::Portable, Level::Avx2, Level::Avx512].into_iter().filter(|l| *l <= detected()).collect()
}

/// The level the kernels use: [`detected`], capped by `FLOE_SIMD`.
#[inline]
pub fn level() -> Level {
    static LEVEL: OnceLock<Level> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        let cap = std::env::var("FLOE_SIMD").ok().and_then(|s| Level::parse(&s)).unwrap_or(Level::Avx512);
        detected().min(cap)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_level_is_one_the_cpu_has() {
        assert!(level() <= detected());
        assert_eq!(supported().first(), Some(&Level::Portable));
        assert_eq!(supported().last(), Some(&detected()));
    }

    #[test]
    fn level_names_parse() {
        assert_eq!(Level::parse("AVX512"), Some(Level::Avx512));
        assert_eq!(Level::parse(" avx2"), Some(Level::Avx2));
        assert_eq!(Level::parse("portable"), Some(Level::Portable));
        assert_eq!(Level::parse("sse9"), None);
    }
}
