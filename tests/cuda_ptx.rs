//! Every hand-written kernel in `kernels/` and a corpus of generated
//! programs (every element type, every operation, broadcasting layouts,
//! fused reductions) compile to PTX with NVRTC. Needs no GPU: NVRTC runs on
//! the CPU. Skips (passes with a message) when libnvrtc cannot be loaded,
//! unless `FLOE_REQUIRE_NVRTC=1`.
#![cfg(feature = "cuda")]

use floe::exec::cuda::codegen::{self, InputMode, FUSED_REDUCTIONS};
use floe::exec::cuda::{kernels, nvrtc};
use floe::expr::{BinaryOp, Program, ReduceKind, UnaryOp};
use floe::dtype::Scalar;
use floe::DType;

const ALL: [DType; 11] = [
    DType::Bool,
    DType::I8,
    DType::I16,
    DType::I32,
    DType::I64,
    DType::U8,
    DType::U16,
    DType::U32,
    DType::U64,
    DType::F32,
    DType::F64,
];

fn nvrtc_or_skip() -> bool {
    if nvrtc::nvrtc_available() {
        return true;
    }
    if std::env::var("FLOE_REQUIRE_NVRTC").is_ok_and(|v| v == "1") {
        panic!("FLOE_REQUIRE_NVRTC=1 but libnvrtc.so.12 cannot be loaded (is its folder on LD_LIBRARY_PATH?)");
    }
    eprintln!("SKIP cuda_ptx: libnvrtc cannot be loaded (pip install nvidia-cuda-nvrtc-cu12 and put nvidia/cuda_nvrtc/lib on LD_LIBRARY_PATH)");
    false
}

fn one(d: DType) -> Scalar {
    Scalar::I64(1).cast(d)
}

/// Programs exercising every instruction kind valid for element type `d`.
fn programs_for(d: DType) -> Vec<(String, Program)> {
    let mut v = Vec::new();
    // identity and a constant
    v.push(("identity".into(), Program::identity(d)));
    let mut p = Program::with_inputs(vec![d, d]);
    let (a, b) = (p.input(0), p.input(1));
    let c = p.constant(one(d));
    if d == DType::Bool {
        // logical ops, not, comparisons, where
        let x = p.binary(BinaryOp::And, a, b);
        let y = p.binary(BinaryOp::Or, x, c);
        let z = p.binary(BinaryOp::Sub, y, a);
        let w = p.binary(BinaryOp::Add, z, b);
        let m = p.binary(BinaryOp::Max, w, a);
        let n = p.binary(BinaryOp::Min, m, b);
        let q = p.binary(BinaryOp::Mul, n, a);
        let nt = p.unary(UnaryOp::Not, q);
        let gt = p.binary(BinaryOp::Gt, nt, a);
        let nan = p.unary(UnaryOp::IsNan, a);
        let fin = p.unary(UnaryOp::IsFinite, b);
        let e = p.binary(BinaryOp::Ne, nan, fin);
        let s = p.select(gt, e, b);
        let f = p.cast(DType::F64, s);
        let back = p.cast(DType::Bool, f);
        v.push(("logic".into(), p.finish(back)));
        return v;
    }
    let mut r = a;
    for op in [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div, BinaryOp::Pow, BinaryOp::Max, BinaryOp::Min] {
        let t = p.binary(op, r, b);
        r = p.binary(op, t, c);
    }
    let ng = p.unary(UnaryOp::Neg, r);
    let ab = p.unary(UnaryOp::Abs, ng);
    let mut last = ab;
    if d.is_float() {
        for op in [
            UnaryOp::Sqrt,
            UnaryOp::Exp,
            UnaryOp::Ln,
            UnaryOp::Log10,
            UnaryOp::Sin,
            UnaryOp::Cos,
            UnaryOp::Tan,
            UnaryOp::Tanh,
            UnaryOp::Floor,
            UnaryOp::Ceil,
            UnaryOp::Round,
            UnaryOp::PowI(3),
            UnaryOp::PowI(-2),
        ] {
            last = p.unary(op, last);
        }
    }
    let nan = p.unary(UnaryOp::IsNan, last);
    let fin = p.unary(UnaryOp::IsFinite, a);
    let both = p.binary(BinaryOp::And, nan, fin);
    let mut cond = both;
    for op in [BinaryOp::Gt, BinaryOp::Ge, BinaryOp::Lt, BinaryOp::Le, BinaryOp::Eq, BinaryOp::Ne] {
        let k = p.binary(op, last, b);
        cond = p.binary(BinaryOp::Or, cond, k);
    }
    let sel = p.select(cond, last, a);
    v.push(("arith".into(), p.clone().finish(sel)));
    // casts to every type and back
    for to in ALL {
        let mut q = Program::with_inputs(vec![d]);
        let x = q.input(0);
        let y = q.cast(to, x);
        let z = q.cast(d, y);
        v.push((format!("cast-{to}"), q.finish(z)));
    }
    // special constants
    if d.is_float() {
        let mut q = Program::with_inputs(vec![d]);
        let x = q.input(0);
        let k = q.constant(Scalar::F64(f64::NAN).cast(d));
        let inf = q.constant(Scalar::F64(f64::NEG_INFINITY).cast(d));
        let nz = q.constant(Scalar::F64(-0.0).cast(d));
        let m = q.binary(BinaryOp::Max, x, k);
        let m2 = q.binary(BinaryOp::Min, m, inf);
        let m3 = q.binary(BinaryOp::Add, m2, nz);
        v.push(("special-constants".into(), q.finish(m3)));
    } else {
        let mut q = Program::with_inputs(vec![d]);
        let x = q.input(0);
        let lo = q.constant(Scalar::I64(i64::MIN).cast(d));
        let hi = q.constant(Scalar::U64(u64::MAX).cast(d));
        let m = q.binary(BinaryOp::Div, x, lo);
        let m2 = q.binary(BinaryOp::Mul, m, hi);
        v.push(("extreme-constants".into(), q.finish(m2)));
    }
    v
}

#[test]
fn every_kernel_file_compiles_with_its_entry_points() {
    if !nvrtc_or_skip() {
        return;
    }
    let mut n = 0;
    for f in kernels::ALL {
        let ptx = nvrtc::compile(f.name, f.source).unwrap_or_else(|e| panic!("{e}"));
        for entry in kernels::entry_points(f) {
            assert!(ptx.contains(&format!(".entry {entry}(")), "{}: no entry point {entry} in the PTX", f.name);
            n += 1;
        }
    }
    eprintln!("cuda_ptx: {} kernel files, {n} entry points compiled", kernels::ALL.len());
}

#[test]
fn generated_programs_compile_for_every_dtype_and_layout() {
    if !nvrtc_or_skip() {
        return;
    }
    // one source per program and layout would be hundreds of NVRTC calls;
    // sources are checked in batches (each program renamed) to keep CI short
    let layouts: [[InputMode; 2]; 4] = [
        [InputMode::Contiguous, InputMode::Contiguous],
        [InputMode::Contiguous, InputMode::Scalar],
        [InputMode::Strided, InputMode::Contiguous],
        [InputMode::Strided, InputMode::Strided],
    ];
    let mut batch = String::new();
    let mut count = 0;
    let mut batches = 0;
    let flush = |batch: &mut String, batches: &mut usize| {
        if batch.is_empty() {
            return;
        }
        let name = format!("corpus{batches}.cu");
        nvrtc::compile(&name, batch).unwrap_or_else(|e| panic!("{e}"));
        batch.clear();
        *batches += 1;
    };
    for d in ALL {
        for (what, p) in programs_for(d) {
            for (li, lay) in layouts.iter().enumerate() {
                let modes = &lay[..p.n_inputs()];
                let src = codegen::map_source(&p, modes).unwrap_or_else(|e| panic!("{d} {what}: {e}"));
                // each program in its own namespace-free unit: rename its symbols
                let tag = format!("_{count}");
                batch.push_str(&src.replace("floe_eval", &format!("floe_eval{tag}")).replace("floe_map(", &format!("floe_map{tag}(")));
                count += 1;
                if li == 0 && p.n_inputs() == 1 {
                    break;
                }
            }
        }
        flush(&mut batch, &mut batches);
    }
    eprintln!("cuda_ptx: {count} generated elementwise kernels compiled in {batches} NVRTC calls");
    assert!(count > 100, "{count}");
}

#[test]
fn fused_reductions_compile_for_every_dtype() {
    if !nvrtc_or_skip() {
        return;
    }
    let mut count = 0;
    let mut batch = String::new();
    for d in ALL {
        // the program: x * 1 (or x & 1) then the reduction
        let mut p = Program::with_inputs(vec![d, d]);
        let (a, b) = (p.input(0), p.input(1));
        let op = if d == DType::Bool { BinaryOp::And } else { BinaryOp::Mul };
        let m = p.binary(op, a, b);
        let p = p.finish(m);
        for &k in FUSED_REDUCTIONS {
            match codegen::map_reduce_source(&p, &[InputMode::Contiguous, InputMode::Strided], k) {
                Ok(src) => {
                    let tag = format!("_{count}");
                    batch.push_str(&format!("namespace n{count} {{\n"));
                    batch.push_str(
                        &src.replace("floe_map_reduce_tree(", &format!("floe_map_reduce_tree{tag}("))
                            .replace("floe_map_reduce(", &format!("floe_map_reduce{tag}(")),
                    );
                    batch.push_str("}\n");
                    count += 1;
                }
                Err(floe::Error::NotImplemented(_)) => assert!(d == DType::Bool && matches!(k, ReduceKind::Sum | ReduceKind::NanSum | ReduceKind::Prod)),
                Err(e) => panic!("{d} {}: {e}", k.name()),
            }
        }
        nvrtc::compile(&format!("fused-reduce-{d}.cu"), &batch).unwrap_or_else(|e| panic!("{e}"));
        batch.clear();
    }
    eprintln!("cuda_ptx: {count} fused reduction kernels compiled");
    assert!(count >= 90, "{count}");
}

#[test]
fn a_compile_error_is_an_error_with_the_log() {
    if !nvrtc_or_skip() {
        return;
    }
    let e = nvrtc::compile("broken.cu", "extern \"C\" __global__ void k() { not_a_function(); }").unwrap_err();
    assert!(matches!(&e, floe::Error::Device(m) if m.contains("not_a_function")), "{e}");
}

#[test]
fn the_disk_cache_gives_back_the_compiled_ptx() {
    if !nvrtc_or_skip() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("floe-ptx-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let body = codegen::map_source(&Program::identity(DType::F32), &[InputMode::Contiguous]).unwrap();
    let first = nvrtc::PtxCache::with_disk(Some(dir.clone()));
    let ptx = first.get("identity.cu", &body).unwrap();
    assert_eq!(first.disk_hits(), 0);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "one file written");
    // a new cache (a new process) reads it instead of compiling
    let second = nvrtc::PtxCache::with_disk(Some(dir.clone()));
    assert_eq!(second.get("identity.cu", &body).unwrap(), ptx);
    assert_eq!(second.disk_hits(), 1);
    // a damaged file is compiled again and rewritten
    let f = std::fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();
    std::fs::write(&f, "// floe ptx 0 1\nx").unwrap();
    let third = nvrtc::PtxCache::with_disk(Some(dir.clone()));
    assert_eq!(third.get("identity.cu", &body).unwrap(), ptx);
    assert_eq!(third.disk_hits(), 0);
    assert_eq!(nvrtc::PtxCache::with_disk(Some(dir.clone())).get("identity.cu", &body).unwrap(), ptx);
    let _ = std::fs::remove_dir_all(&dir);
}
