//! The hand-written kernels of `kernels/` (CUDA C, compiled by NVRTC at run
//! time, so nothing CUDA is needed to build floe) and their entry points.
//! `kernels/README.md` gives each kernel's signature.

use crate::dtype::DType;

/// Types, per-element operations with floe's semantics, casts and limits:
/// prepended to every file below and to every generated program.
pub const COMMON: &str = include_str!("../../../kernels/common.cuh");

/// One source file of `kernels/`.
#[derive(Clone, Copy, Debug)]
pub struct KernelFile {
    /// File name under `kernels/`.
    pub name: &'static str,
    /// The CUDA C source (without [`COMMON`]).
    pub source: &'static str,
}

/// Axis reductions (sum, prod, min, max, arg-reductions, mean and variance
/// partial moments, NaN-skipping forms).
pub const REDUCE_AXIS: KernelFile = KernelFile { name: "reduce_axis.cu", source: include_str!("../../../kernels/reduce_axis.cu") };
/// Permute / transpose copies.
pub const PERMUTE: KernelFile = KernelFile { name: "permute.cu", source: include_str!("../../../kernels/permute.cu") };
/// Counter-based random numbers (the streams of `floe::rng`).
pub const RANDOM: KernelFile = KernelFile { name: "random.cu", source: include_str!("../../../kernels/random.cu") };
/// Constant fills and identity blocks.
pub const FILL: KernelFile = KernelFile { name: "fill.cu", source: include_str!("../../../kernels/fill.cu") };

/// Every file of `kernels/` (but the common prelude).
pub const ALL: &[KernelFile] = &[REDUCE_AXIS, PERMUTE, RANDOM, FILL];

/// The unsigned type of an element size, as the copy and fill kernels name
/// it (`u8`, `u16`, `u32`, `u64`).
pub fn bits_name(d: DType) -> &'static str {
    match d.size() {
        1 => "u8",
        2 => "u16",
        4 => "u32",
        _ => "u64",
    }
}

/// The entry points each file must define (checked against the PTX by the
/// `cuda_ptx` test, and the names the executor launches).
pub fn entry_points(file: &KernelFile) -> Vec<String> {
    let types = ["bool", "i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f32", "f64"];
    let sizes = ["u8", "u16", "u32", "u64"];
    match file.name {
        "reduce_axis.cu" => {
            let mut v = Vec::new();
            for t in types {
                for k in ["min", "max", "nanmin", "nanmax", "any", "all", "argmin", "argmax"] {
                    v.push(format!("floe_axis_{k}_{t}"));
                }
                if t != "bool" {
                    for k in ["sum", "nansum", "prod", "mean", "nanmean", "moments", "nanmoments"] {
                        v.push(format!("floe_axis_{k}_{t}"));
                    }
                }
            }
            v
        }
        "permute.cu" => {
            let mut v: Vec<String> = sizes.iter().map(|s| format!("floe_permute_{s}")).collect();
            v.extend(["floe_transpose2d_u32".to_string(), "floe_transpose2d_u64".to_string()]);
            v
        }
        "random.cu" => vec!["floe_random_uniform".into(), "floe_random_normal".into(), "floe_philox_blocks".into()],
        "fill.cu" => sizes.iter().flat_map(|s| [format!("floe_fill_{s}"), format!("floe_eye_{s}")]).collect(),
        _ => Vec::new(),
    }
}
