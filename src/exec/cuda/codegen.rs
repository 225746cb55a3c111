//! Fused `Program` → CUDA C. One generated source per (program, input
//! layout[, trailing reduction]); the element operations are the helpers of
//! `kernels/common.cuh` (prepended to every source), which follow the CPU
//! interpreter's semantics.
//!
//! Elementwise kernel `floe_map(out, in0, .., inK, meta, n, ndim)`: a
//! grid-stride loop over the `n` output elements (row-major). Each input is
//! read by its [`InputMode`]: contiguous (`in[i]`), a single element
//! (`in[0]`), or through strides (`meta`: the output shape, `ndim` values,
//! then `ndim` element strides per input, 0 along broadcast axes).
//!
//! Fused reduction (`floe_map_reduce(parts, in0, .., meta, n, ndim)` then
//! `floe_map_reduce_tree(out, parts, nparts)`): each thread folds the program's
//! values into an accumulator, each block of [`REDUCE_THREADS`] threads
//! merges them by a tree in shared memory and writes one partial; the second
//! kernel (one block) merges the partials by the same tree. The accumulator
//! is the CPU partial of the same reduction kind: `Sum`/`NanSum`/`Prod` in the
//! sum type, `Min`/`Max` in the element type, `Any`/`All` as bool,
//! `Mean`/`NanMean` as (sum, count) in f64.

use std::fmt::Write as _;

use crate::dtype::{DType, Scalar};
use crate::error::{Error, Result};
use crate::expr::{BinaryOp, Instr, Program, ReduceKind, UnaryOp};

/// Threads per block of the fused reduction kernels (a power of two).
pub const REDUCE_THREADS: u32 = 256;

/// How a kernel reads one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InputMode {
    /// The input has the output's shape, row-major: element `i` is `in[i]`.
    Contiguous,
    /// One element broadcast everywhere: `in[0]`.
    Scalar,
    /// Read through the strides in `meta` (broadcast or permuted inputs).
    Strided,
}

/// The C type of an element type (bool is C++ `bool`, one byte like Rust's).
pub fn ctype(d: DType) -> &'static str {
    match d {
        DType::Bool => "bool",
        DType::I8 => "i8",
        DType::I16 => "i16",
        DType::I32 => "i32",
        DType::I64 => "i64",
        DType::U8 => "u8",
        DType::U16 => "u16",
        DType::U32 => "u32",
        DType::U64 => "u64",
        DType::F32 => "f32",
        DType::F64 => "f64",
    }
}

/// A C expression with exactly the value `s` (floats by their bits, so NaN
/// payloads, infinities and -0.0 survive).
pub fn literal(s: Scalar) -> String {
    match s {
        Scalar::Bool(b) => (if b { "true" } else { "false" }).to_string(),
        Scalar::I8(v) => format!("((i8){v})"),
        Scalar::I16(v) => format!("((i16){v})"),
        Scalar::I32(v) => format!("((i32){:#x}u)", v as u32),
        Scalar::I64(v) => format!("((i64){:#x}ull)", v as u64),
        Scalar::U8(v) => format!("((u8){v}u)"),
        Scalar::U16(v) => format!("((u16){v}u)"),
        Scalar::U32(v) => format!("((u32){v}u)"),
        Scalar::U64(v) => format!("((u64){v}ull)"),
        Scalar::F32(v) => format!("__int_as_float((int){:#x}u)", v.to_bits()),
        Scalar::F64(v) => format!("__longlong_as_double((long long){:#x}ull)", v.to_bits()),
    }
}

fn internal(what: &str) -> Error {
    Error::Execution(format!("internal: {what} in a program (CUDA code generation)"))
}

fn unary_fn(op: UnaryOp) -> &'static str {
    match op {
        UnaryOp::Neg => "op_neg",
        UnaryOp::Abs => "op_abs",
        UnaryOp::Sqrt => "op_sqrt",
        UnaryOp::Exp => "op_exp",
        UnaryOp::Ln => "op_ln",
        UnaryOp::Log10 => "op_log10",
        UnaryOp::Sin => "op_sin",
        UnaryOp::Cos => "op_cos",
        UnaryOp::Tan => "op_tan",
        UnaryOp::Tanh => "op_tanh",
        UnaryOp::Floor => "op_floor",
        UnaryOp::Ceil => "op_ceil",
        UnaryOp::Round => "op_round",
        UnaryOp::PowI(_) => "op_powi",
        UnaryOp::IsNan => "op_isnan",
        UnaryOp::IsFinite => "op_isfinite",
        UnaryOp::Not => "!",
    }
}

/// The expression of one instruction (operands are registers `rK`).
fn instr_expr(p: &Program, r: usize) -> Result<String> {
    let reg = |k: u32| format!("r{k}");
    Ok(match &p.instrs()[r] {
        Instr::Input(i) => return Err(internal(&format!("input {i} read as an expression"))),
        Instr::Const(s) => literal(*s),
        Instr::Unary(op, a) => {
            let ad = p.reg_dtype(*a);
            match op {
                UnaryOp::Not => {
                    if ad != DType::Bool {
                        return Err(internal("not of a number"));
                    }
                    format!("(!{})", reg(*a))
                }
                UnaryOp::IsNan | UnaryOp::IsFinite | UnaryOp::Neg | UnaryOp::Abs => {
                    if ad == DType::Bool && matches!(op, UnaryOp::Neg | UnaryOp::Abs) {
                        return Err(internal("arithmetic on bool"));
                    }
                    format!("{}({})", unary_fn(*op), reg(*a))
                }
                UnaryOp::PowI(n) => {
                    if !ad.is_float() {
                        return Err(internal("float op on an integer"));
                    }
                    format!("op_powi({}, (int){n})", reg(*a))
                }
                _ => {
                    if !ad.is_float() {
                        return Err(internal("float op on an integer"));
                    }
                    format!("{}({})", unary_fn(*op), reg(*a))
                }
            }
        }
        Instr::Binary(op, a, b) => {
            let d = p.reg_dtype(*a);
            if p.reg_dtype(*b) != d {
                return Err(internal("operands of different types"));
            }
            let (x, y) = (reg(*a), reg(*b));
            if op.is_comparison() {
                let sym = match op {
                    BinaryOp::Gt => ">",
                    BinaryOp::Ge => ">=",
                    BinaryOp::Lt => "<",
                    BinaryOp::Le => "<=",
                    BinaryOp::Eq => "==",
                    _ => "!=",
                };
                format!("({x} {sym} {y})")
            } else if d == DType::Bool {
                match op {
                    BinaryOp::And | BinaryOp::Mul | BinaryOp::Min => format!("({x} & {y})"),
                    BinaryOp::Or | BinaryOp::Add | BinaryOp::Max => format!("({x} | {y})"),
                    BinaryOp::Sub => format!("({x} ^ {y})"),
                    _ => return Err(internal("arithmetic on bool")),
                }
            } else {
                let f = match op {
                    BinaryOp::Add => "op_add",
                    BinaryOp::Sub => "op_sub",
                    BinaryOp::Mul => "op_mul",
                    BinaryOp::Div => "op_div",
                    BinaryOp::Pow => "op_pow",
                    BinaryOp::Max => "op_max",
                    BinaryOp::Min => "op_min",
                    _ => return Err(internal("logical op on numbers")),
                };
                format!("{f}({x}, {y})")
            }
        }
        Instr::Cast(to, a) => format!("cvt<{}>({})", ctype(*to), reg(*a)),
        Instr::Where(c, a, b) => {
            if p.reg_dtype(*c) != DType::Bool {
                return Err(internal("where on a non-bool condition"));
            }
            format!("({} ? {} : {})", reg(*c), reg(*a), reg(*b))
        }
    })
}

fn check(p: &Program, modes: &[InputMode]) -> Result<()> {
    if p.instrs().is_empty() {
        return Err(internal("empty program"));
    }
    if modes.len() != p.n_inputs() {
        return Err(internal("input mode count"));
    }
    Ok(())
}

/// `__device__ OUT floe_eval(i, in0.., meta, ndim)`: the program at element `i`.
fn eval_fn(p: &Program, modes: &[InputMode]) -> Result<String> {
    let mut s = String::new();
    let out = ctype(p.output_dtype());
    write!(s, "__device__ __forceinline__ {out} floe_eval(i64 i").unwrap();
    for (k, d) in p.input_dtypes().iter().enumerate() {
        write!(s, ", const {}* __restrict__ in{k}", ctype(*d)).unwrap();
    }
    s.push_str(", const i64* __restrict__ meta, int ndim) {\n");
    for (r, ins) in p.instrs().iter().enumerate() {
        let d = ctype(p.reg_dtype(r as u32));
        let e = match ins {
            Instr::Input(k) => match modes[*k] {
                InputMode::Contiguous => format!("in{k}[i]"),
                InputMode::Scalar => format!("in{k}[0]"),
                InputMode::Strided => format!("in{k}[floe_offset(i, meta, meta + (i64)ndim * {}, ndim)]", k + 1),
            },
            _ => instr_expr(p, r)?,
        };
        writeln!(s, "    const {d} r{r} = {e};").unwrap();
    }
    writeln!(s, "    return r{};\n}}", p.output()).unwrap();
    Ok(s)
}

fn params(p: &Program) -> String {
    let mut s = String::new();
    for (k, d) in p.input_dtypes().iter().enumerate() {
        write!(s, ", const {}* __restrict__ in{k}", ctype(*d)).unwrap();
    }
    s
}

fn args(p: &Program) -> String {
    (0..p.n_inputs()).map(|k| format!(", in{k}")).collect()
}

/// The element loops of a generated kernel over `n` elements: grid-stride,
/// and when no input is read through strides, each thread takes `V`
/// consecutive elements per step with 16-byte (or narrower, by type) vector
/// loads, `V` = 16 / the widest element type of the contiguous inputs (and
/// of the output when `store` is set). The vector loop runs only when every
/// pointer is 16-byte aligned (device blocks are whole allocations, so they
/// are); the last `n mod V` elements go one by one. `each` is the statement
/// for one value `{v}`; `store` (for `floe_map`) vector-stores `r[V]`.
fn element_loops(p: &Program, modes: &[InputMode], each: &str, store: bool) -> String {
    let mut s = String::from(
        "    const i64 step = (i64)gridDim.x * blockDim.x;\n    const i64 tid = (i64)blockIdx.x * blockDim.x + threadIdx.x;\n    i64 done = 0;\n",
    );
    let scalar_each = if store { "out[i] = {v};" } else { each };
    if !modes.contains(&InputMode::Strided) {
        let contiguous: Vec<usize> = (0..modes.len()).filter(|&k| modes[k] == InputMode::Contiguous).collect();
        let out_size = if store { p.output_dtype().size() } else { 1 };
        let widest = contiguous.iter().map(|&k| p.input_dtypes()[k].size()).chain([out_size]).max().unwrap_or(1);
        let v = (16 / widest).max(1);
        let out_ptr = if store { "(unsigned long long)out" } else { "0ull" };
        let ptrs: String = contiguous.iter().map(|k| format!(" | (unsigned long long)in{k}")).collect();
        write!(s, "    const int V = {v};\n    if ((({out_ptr}{ptrs}) & 15) == 0) {{\n        const i64 nv = n / V;\n        for (i64 j = tid; j < nv; j += step) {{\n            const i64 i = j * V;\n").unwrap();
        let mut args = String::new();
        for (k, d) in p.input_dtypes().iter().enumerate() {
            if modes[k] == InputMode::Contiguous {
                writeln!(s, "            alignas(16) {} a{k}[V];\n            floe_vload(a{k}, in{k} + i);", ctype(*d)).unwrap();
                write!(args, ", a{k}").unwrap();
            } else {
                write!(args, ", in{k}").unwrap();
            }
        }
        if store {
            writeln!(s, "            alignas(16) {} r[V];", ctype(p.output_dtype())).unwrap();
        }
        let vec_each = if store { "r[u] = {v};" } else { each };
        let value = format!("floe_eval(u{args}, meta, ndim)");
        writeln!(s, "#pragma unroll\n            for (int u = 0; u < V; ++u) {{ {} }}", vec_each.replace("{v}", &value)).unwrap();
        if store {
            s.push_str("            floe_vstore(out + i, r);\n");
        }
        s.push_str("        }\n        done = nv * V;\n    }\n");
    }
    let value = format!("floe_eval(i{}, meta, ndim)", args(p));
    writeln!(s, "    for (i64 i = done + tid; i < n; i += step) {{ {} }}", scalar_each.replace("{v}", &value)).unwrap();
    s
}

/// CUDA C of the elementwise kernel `floe_map` (without the common
/// prelude); its loops are `element_loops`'s.
pub fn map_source(p: &Program, modes: &[InputMode]) -> Result<String> {
    check(p, modes)?;
    let mut s = format!("// floe fused program: {p}\n// inputs: {modes:?}\n");
    s.push_str(&eval_fn(p, modes)?);
    write!(
        s,
        "extern \"C\" __global__ void floe_map({}* __restrict__ out{}, const i64* __restrict__ meta, i64 n, int ndim) {{\n{}}}\n",
        ctype(p.output_dtype()),
        params(p),
        element_loops(p, modes, "", true)
    )
    .unwrap();
    Ok(s)
}

/// The accumulator of a fused reduction: (struct body, init, fold of value
/// `v` into `a`, merge of `b` into `a`), as C snippets.
struct AccCode {
    fields: String,
    init: String,
    fold: String,
    merge: String,
}

fn acc_code(kind: ReduceKind, d: DType) -> Result<AccCode> {
    use ReduceKind::*;
    let t = ctype(d);
    Ok(match kind {
        Sum | NanSum | Prod => {
            if d == DType::Bool {
                return Err(Error::NotImplemented(format!("fused {} of bool on the GPU", kind.name())));
            }
            let st = ctype(d.sum_dtype());
            let (init, op) = if kind == Prod { ("1", "op_mul") } else { ("0", "op_add") };
            let skip = if kind == NanSum { "if (op_isnan(v)) return a; " } else { "" };
            AccCode {
                fields: format!("{st} x;"),
                init: format!("a.x = ({st}){init};"),
                fold: format!("{skip}a.x = {op}(a.x, cvt<{st}>(v));"),
                merge: format!("a.x = {op}(a.x, b.x);"),
            }
        }
        Min | Max => {
            let (init, op) = if kind == Min { ("highest", "op_min") } else { ("lowest", "op_max") };
            AccCode {
                fields: format!("{t} x;"),
                init: format!("a.x = Lim<{t}>::{init}();"),
                fold: format!("a.x = {op}(a.x, v);"),
                merge: format!("a.x = {op}(a.x, b.x);"),
            }
        }
        Any | All => {
            let (init, op) = if kind == Any { ("false", "|") } else { ("true", "&") };
            AccCode {
                fields: "bool x;".into(),
                init: format!("a.x = {init};"),
                fold: format!("a.x = a.x {op} cvt<bool>(v);"),
                merge: format!("a.x = a.x {op} b.x;"),
            }
        }
        Mean | NanMean => {
            let skip = if kind == NanMean { "if (op_isnan(x)) return a; " } else { "" };
            AccCode {
                fields: "f64 s; f64 c;".into(),
                init: "a.s = 0.0; a.c = 0.0;".into(),
                fold: format!("f64 x = cvt<f64>(v); {skip}a.s = a.s + x; a.c = a.c + 1.0;"),
                merge: "a.s = a.s + b.s; a.c = a.c + b.c;".into(),
            }
        }
        other => {
            return Err(Error::NotImplemented(format!(
                "a fused {} on the GPU (it runs on the CPU; the axis kernels of kernels/reduce_axis.cu cover it)",
                other.name()
            )))
        }
    })
}

/// The reduction kinds that [`map_reduce_source`] fuses into a program.
pub const FUSED_REDUCTIONS: &[ReduceKind] = &[
    ReduceKind::Sum,
    ReduceKind::NanSum,
    ReduceKind::Prod,
    ReduceKind::Min,
    ReduceKind::Max,
    ReduceKind::Any,
    ReduceKind::All,
    ReduceKind::Mean,
    ReduceKind::NanMean,
];

/// CUDA C of a program followed by a reduction over all of its elements:
/// kernels `floe_map_reduce` (block partials) and `floe_map_reduce_tree`
/// (partials merged by one block), sharing `struct Acc`.
pub fn map_reduce_source(p: &Program, modes: &[InputMode], kind: ReduceKind) -> Result<String> {
    check(p, modes)?;
    let d = p.output_dtype();
    let acc = acc_code(kind, d)?;
    let t = ctype(d);
    let nt = REDUCE_THREADS;
    let mut s = format!("// floe fused program: {p} then {}\n// inputs: {modes:?}\n", kind.name());
    s.push_str(&eval_fn(p, modes)?);
    write!(
        s,
        r#"struct Acc {{ {fields} }};
__device__ __forceinline__ Acc acc_init() {{ Acc a; {init} return a; }}
__device__ __forceinline__ Acc acc_fold(Acc a, {t} v) {{ {fold} return a; }}
__device__ __forceinline__ Acc acc_merge(Acc a, Acc b) {{ {merge} return a; }}
__device__ __forceinline__ void acc_tree(Acc* sh, Acc a, Acc* dst) {{
    const unsigned tid = threadIdx.x;
    sh[tid] = a;
    __syncthreads();
    for (unsigned w = {half}; w > 0; w >>= 1) {{
        if (tid < w) sh[tid] = acc_merge(sh[tid], sh[tid + w]);
        __syncthreads();
    }}
    if (tid == 0) *dst = sh[0];
}}
extern "C" __global__ void __launch_bounds__({nt}) floe_map_reduce(Acc* __restrict__ parts{params}, const i64* __restrict__ meta, i64 n, int ndim) {{
    __shared__ Acc sh[{nt}];
    Acc a = acc_init();
{loops}    acc_tree(sh, a, &parts[blockIdx.x]);
}}
extern "C" __global__ void __launch_bounds__({nt}) floe_map_reduce_tree(Acc* __restrict__ out, const Acc* __restrict__ parts, i64 nparts) {{
    __shared__ Acc sh[{nt}];
    Acc a = acc_init();
    for (i64 i = threadIdx.x; i < nparts; i += blockDim.x) a = acc_merge(a, parts[i]);
    acc_tree(sh, a, out);
}}
"#,
        fields = acc.fields,
        init = acc.init,
        fold = acc.fold,
        merge = acc.merge,
        half = nt / 2,
        params = params(p),
        loops = element_loops(p, modes, "a = acc_fold(a, {v});", false),
    )
    .unwrap();
    Ok(s)
}

/// The cache key of a generated kernel: program, input layout and the
/// trailing reduction, if any, compared in full (a hash only finds it).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KernelKey {
    program: Program,
    modes: Vec<InputMode>,
    reduce: Option<ReduceKind>,
}

pub fn kernel_key(p: &Program, modes: &[InputMode], reduce: Option<ReduceKind>) -> KernelKey {
    KernelKey { program: p.clone(), modes: modes.to_vec(), reduce }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_registers_in_order() {
        let mut p = Program::with_inputs(vec![DType::F64, DType::I32]);
        let a = p.input(0);
        let b = p.input(1);
        let bf = p.cast(DType::F64, b);
        let s = p.binary(BinaryOp::Add, a, bf);
        let m = p.unary(UnaryOp::Sin, s);
        let p = p.finish(m);
        let src = map_source(&p, &[InputMode::Contiguous, InputMode::Strided]).unwrap();
        assert!(src.contains("const f64 r0 = in0[i];"), "{src}");
        assert!(src.contains("floe_offset(i, meta, meta + (i64)ndim * 2, ndim)"), "{src}");
        assert!(src.contains("cvt<f64>(r1)"), "{src}");
        assert!(src.contains("op_sin(r3)"), "{src}");
        assert!(map_source(&p, &[InputMode::Contiguous]).is_err());
    }

    #[test]
    fn contiguous_inputs_get_vector_loads_sized_by_the_widest_type() {
        // f32 and i8 in, f64 out: V = 16 / 8 = 2; the scalar input is read at [0]
        let mut p = Program::with_inputs(vec![DType::F32, DType::I8, DType::F64]);
        let (a, b, c) = (p.input(0), p.input(1), p.input(2));
        let af = p.cast(DType::F64, a);
        let bf = p.cast(DType::F64, b);
        let s = p.binary(BinaryOp::Add, af, bf);
        let r = p.binary(BinaryOp::Mul, s, c);
        let p = p.finish(r);
        let src = map_source(&p, &[InputMode::Contiguous, InputMode::Contiguous, InputMode::Scalar]).unwrap();
        assert!(src.contains("const int V = 2;"), "{src}");
        assert!(src.contains("(((unsigned long long)out | (unsigned long long)in0 | (unsigned long long)in1) & 15) == 0"), "{src}");
        assert!(src.contains("floe_vload(a0, in0 + i);") && src.contains("floe_vload(a1, in1 + i);"), "{src}");
        assert!(src.contains("r[u] = floe_eval(u, a0, a1, in2, meta, ndim);"), "{src}");
        assert!(src.contains("floe_vstore(out + i, r);"), "{src}");
        // the tail (and everything when unaligned) one by one
        assert!(src.contains("for (i64 i = done + tid; i < n; i += step) { out[i] = floe_eval(i, in0, in1, in2, meta, ndim); }"), "{src}");
        // a reduction sizes V by its inputs only: f32 in -> 4
        let q = Program::identity(DType::F32);
        let red = map_reduce_source(&q, &[InputMode::Contiguous], ReduceKind::Sum).unwrap();
        assert!(red.contains("const int V = 4;") && red.contains("a = acc_fold(a, floe_eval(u, a0, meta, ndim));"), "{red}");
        // a strided input: no vector loop
        let strided = map_source(&p, &[InputMode::Contiguous, InputMode::Strided, InputMode::Scalar]).unwrap();
        assert!(!strided.contains("floe_vload") && strided.contains("i64 done = 0;"), "{strided}");
    }

    #[test]
    fn literals_are_exact() {
        assert_eq!(literal(Scalar::F64(f64::NAN)), format!("__longlong_as_double((long long){:#x}ull)", f64::NAN.to_bits()));
        assert_eq!(literal(Scalar::I64(i64::MIN)), "((i64)0x8000000000000000ull)");
        assert_eq!(literal(Scalar::Bool(true)), "true");
    }

    #[test]
    fn unsupported_fused_reductions_are_not_implemented() {
        let p = Program::identity(DType::F32);
        assert!(matches!(map_reduce_source(&p, &[InputMode::Contiguous], ReduceKind::Var), Err(Error::NotImplemented(_))));
        assert!(map_reduce_source(&p, &[InputMode::Contiguous], ReduceKind::Sum).unwrap().contains("struct Acc { f32 x; }"));
    }
}
