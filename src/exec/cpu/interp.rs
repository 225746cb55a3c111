//! The tiled interpreter of fused `Program`s. A block is evaluated a tile of
//! `TILE` elements at a time: each instruction loops over one tile, so every
//! input is read once, intermediates stay in cache, and only the output is
//! written. Broadcast inputs are read through their strides, never
//! materialized. Random inputs read only by the program are generated tile
//! by tile ([`TileInput::Random`]): their blocks never exist either.

use ndarray::{ArrayD, IxDyn};

use super::chunk::{Buf, BufElem, Chunk};
use super::out_buf::Region;
use super::source::RandomBlock;
use super::scalar_ops::{Arith, FloatFns};
use super::vmath::VecFn;
use crate::simd::Level;
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::expr::{BinaryOp, Instr, Program, UnaryOp};

/// Elements per tile: registers of a few KiB stay in L1/L2.
pub const TILE: usize = 1024;

/// One input of a program over a block.
#[derive(Clone, Copy)]
pub enum TileInput<'a> {
    /// A block in memory (broadcast to the program's block shape).
    Block(&'a Chunk),
    /// A random source's block, generated a tile at a time.
    Random(&'a RandomBlock),
}

/// An input broadcast to the block: base pointer and strides in elements.
struct RawInput {
    ptr: *const u8,
    strides: Vec<isize>,
    contiguous: bool,
    dtype: DType,
}

fn raw_input(c: &Chunk, shape: &[usize]) -> Result<RawInput> {
    crate::with_chunk!(c, a, T => {
        let v = a.broadcast(IxDyn(shape)).ok_or_else(|| {
            Error::Execution(format!("internal: block of shape {:?} does not broadcast to {shape:?}", a.shape()))
        })?;
        let contiguous = v.is_standard_layout() && v.len() == a.len();
        Ok(RawInput {
            ptr: v.as_ptr() as *const u8,
            strides: v.strides().to_vec(),
            contiguous,
            dtype: <T as Element>::DTYPE,
        })
    })
}

/// Walk elements `start..start + len` (row-major over `shape`) of a strided
/// view in runs along the last axis: `f(offset, o, seg)` for each run, with
/// `offset` the element offset of its first element, `o` its position among
/// the walked elements and `seg` its length (the last axis' stride apart).
fn segments(strides: &[isize], shape: &[usize], start: usize, len: usize, idx: &mut Vec<usize>, mut f: impl FnMut(isize, usize, usize)) {
    let nd = shape.len();
    if nd == 0 {
        if len > 0 {
            f(0, 0, 1);
        }
        return;
    }
    idx.clear();
    idx.resize(nd, 0);
    let mut rem = start;
    for k in (0..nd).rev() {
        idx[k] = rem % shape[k];
        rem /= shape[k];
    }
    let last = nd - 1;
    let l_last = shape[last];
    let mut o = 0;
    while o < len {
        let mut off: isize = 0;
        for k in 0..nd {
            off += idx[k] as isize * strides[k];
        }
        let seg = (len - o).min(l_last - idx[last]);
        f(off, o, seg);
        o += seg;
        idx[last] += seg;
        let mut k = last;
        while k > 0 && idx[k] >= shape[k] {
            idx[k] = 0;
            k -= 1;
            idx[k] += 1;
        }
    }
}

/// Copy elements `start..start + out.len()` (row-major over `shape`) of a
/// strided view into `out`.
///
/// # Safety
/// `ptr`/`strides` must describe a live view of `shape`, and the range must be inside it.
unsafe fn gather<T: Copy>(ptr: *const T, strides: &[isize], shape: &[usize], contiguous: bool, start: usize, out: &mut [T], idx: &mut Vec<usize>) {
    if contiguous {
        std::ptr::copy_nonoverlapping(ptr.add(start), out.as_mut_ptr(), out.len());
        return;
    }
    let s_last = strides.last().copied().unwrap_or(1);
    segments(strides, shape, start, out.len(), idx, |off, o, seg| {
        let p = ptr.offset(off);
        let dst = &mut out[o..o + seg];
        if s_last == 1 {
            std::ptr::copy_nonoverlapping(p, dst.as_mut_ptr(), seg);
        } else if s_last == 0 {
            dst.fill(*p);
        } else {
            for (j, d) in dst.iter_mut().enumerate() {
                *d = *p.offset(j as isize * s_last);
            }
        }
    });
}

/// Copy `src` to elements `start..start + src.len()` (row-major over
/// `shape`) of a strided view whose last axis' stride is 1.
///
/// # Safety
/// `ptr`/`strides` must describe a live view of `shape` that nothing else
/// accesses meanwhile, and the range must be inside it.
unsafe fn scatter<T: Copy>(ptr: *mut T, dst: &Region, start: usize, src: &[T], idx: &mut Vec<usize>) {
    let copy = |from: &[T], to: *mut T| {
        if dst.streaming {
            copy_streaming(from.as_ptr() as *const u8, to as *mut u8, std::mem::size_of_val(from));
        } else {
            std::ptr::copy_nonoverlapping(from.as_ptr(), to, from.len());
        }
    };
    if dst.contiguous {
        copy(src, ptr.add(start));
        return;
    }
    segments(&dst.strides, &dst.shape, start, src.len(), idx, |off, o, seg| copy(&src[o..o + seg], ptr.offset(off)));
}

/// Copy `n` bytes with non-temporal stores where the destination is
/// 16-byte aligned (they bypass the cache: no read of the destination
/// lines first, no eviction of the inputs). Followed, before the data is
/// read elsewhere, by [`streaming_done`].
///
/// # Safety
/// As `copy_nonoverlapping`.
unsafe fn copy_streaming(src: *const u8, dst: *mut u8, n: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_stream_si128};
        let head = dst.align_offset(16).min(n);
        std::ptr::copy_nonoverlapping(src, dst, head);
        let mut i = head;
        while i + 16 <= n {
            // SAFETY: SSE2 is part of x86-64; dst + i is 16-byte aligned
            _mm_stream_si128(dst.add(i) as *mut __m128i, _mm_loadu_si128(src.add(i) as *const __m128i));
            i += 16;
        }
        std::ptr::copy_nonoverlapping(src.add(i), dst.add(i), n - i);
    }
    #[cfg(not(target_arch = "x86_64"))]
    std::ptr::copy_nonoverlapping(src, dst, n);
}

/// Order the non-temporal stores made so far before later stores (and so
/// before the task's completion is published).
fn streaming_done() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of x86-64
    unsafe {
        std::arch::x86_64::_mm_sfence()
    };
}

fn internal(what: &str) -> Error {
    Error::Execution(format!("internal: {what} in a program"))
}

/// `o[i] = f(a[i])`. The loop is compiled for the [`simd`](crate::simd)
/// level (the crate is built for baseline x86-64, SSE2): 512-bit vectors
/// with AVX-512, 256-bit with AVX2; the element operations are the same
/// IEEE ones, so results are identical.
#[inline(always)]
fn zip2<A: Copy, B>(a: &[A], o: &mut [B], f: impl Fn(A) -> B) {
    match crate::simd::level() {
        // SAFETY: `level` is one the CPU has.
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => unsafe { zip2_avx512(a, o, f) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => unsafe { zip2_avx2(a, o, f) },
        _ => zip2_any(a, o, f),
    }
}

#[inline(always)]
fn zip2_any<A: Copy, B>(a: &[A], o: &mut [B], f: impl Fn(A) -> B) {
    let n = o.len();
    let a = &a[..n];
    for i in 0..n {
        o[i] = f(a[i]);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn zip2_avx2<A: Copy, B>(a: &[A], o: &mut [B], f: impl Fn(A) -> B) {
    zip2_any(a, o, f)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f,avx512dq,avx512vl,avx512bw")]
unsafe fn zip2_avx512<A: Copy, B>(a: &[A], o: &mut [B], f: impl Fn(A) -> B) {
    zip2_any(a, o, f)
}

/// `o[i] = f(a[i], b[i])`, compiled for the SIMD level as [`zip2`] is.
#[inline(always)]
fn zip3<A: Copy, B: Copy, C>(a: &[A], b: &[B], o: &mut [C], f: impl Fn(A, B) -> C) {
    match crate::simd::level() {
        // SAFETY: `level` is one the CPU has.
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => unsafe { zip3_avx512(a, b, o, f) },
        // SAFETY: as above.
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => unsafe { zip3_avx2(a, b, o, f) },
        _ => zip3_any(a, b, o, f),
    }
}

#[inline(always)]
fn zip3_any<A: Copy, B: Copy, C>(a: &[A], b: &[B], o: &mut [C], f: impl Fn(A, B) -> C) {
    let n = o.len();
    let (a, b) = (&a[..n], &b[..n]);
    for i in 0..n {
        o[i] = f(a[i], b[i]);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn zip3_avx2<A: Copy, B: Copy, C>(a: &[A], b: &[B], o: &mut [C], f: impl Fn(A, B) -> C) {
    zip3_any(a, b, o, f)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,avx512f,avx512dq,avx512vl,avx512bw")]
unsafe fn zip3_avx512<A: Copy, B: Copy, C>(a: &[A], b: &[B], o: &mut [C], f: impl Fn(A, B) -> C) {
    zip3_any(a, b, o, f)
}

fn arith_unary<T: Arith>(op: UnaryOp, a: &[T], o: &mut [T]) -> Result<()> {
    match op {
        UnaryOp::Neg => zip2(a, o, T::neg),
        UnaryOp::Abs => zip2(a, o, T::abs),
        _ => return Err(internal("float op on an integer")),
    }
    Ok(())
}

fn float_unary<T: FloatFns>(op: UnaryOp, a: &[T], o: &mut [T]) -> Result<()> {
    match op {
        UnaryOp::Neg => zip2(a, o, T::neg),
        UnaryOp::Abs => zip2(a, o, T::abs),
        UnaryOp::Sqrt => zip2(a, o, T::sqrt),
        UnaryOp::Exp => T::vec_fn(VecFn::Exp, a, o),
        UnaryOp::Ln => T::vec_fn(VecFn::Ln, a, o),
        UnaryOp::Log10 => zip2(a, o, T::log10),
        UnaryOp::Sin => T::vec_fn(VecFn::Sin, a, o),
        UnaryOp::Cos => T::vec_fn(VecFn::Cos, a, o),
        UnaryOp::Tan => zip2(a, o, T::tan),
        UnaryOp::Tanh => zip2(a, o, T::tanh),
        UnaryOp::Floor => zip2(a, o, T::floor),
        UnaryOp::Ceil => zip2(a, o, T::ceil),
        UnaryOp::Round => zip2(a, o, T::round),
        UnaryOp::PowI(n) => zip2(a, o, |x| T::powi(x, n)),
        _ => return Err(internal("predicate used as arithmetic")),
    }
    Ok(())
}

/// Evaluate `$body` with `$f` bound to the element function (`T::add`, …)
/// of arithmetic operation `$op`: the one list of them, for tiles and
/// scalars alike (a function item, so the loops still inline it).
macro_rules! with_arith_fn {
    ($op:expr, $T:ident, $f:ident => $body:expr) => {
        match $op {
            BinaryOp::Add => { let $f = $T::add; $body }
            BinaryOp::Sub => { let $f = $T::sub; $body }
            BinaryOp::Mul => { let $f = $T::mul; $body }
            BinaryOp::Div => { let $f = $T::div; $body }
            BinaryOp::Pow => { let $f = $T::pow; $body }
            BinaryOp::Max => { let $f = $T::maxn; $body }
            BinaryOp::Min => { let $f = $T::minn; $body }
            _ => return Err(internal("logical op on numbers")),
        }
    };
}

fn arith_binary<T: Arith>(op: BinaryOp, a: &[T], b: &[T], o: &mut [T]) -> Result<()> {
    with_arith_fn!(op, T, f => zip3(a, b, o, f));
    Ok(())
}

fn compare<T: PartialOrd + Copy>(op: BinaryOp, a: &[T], b: &[T], o: &mut [bool]) -> Result<()> {
    match op {
        BinaryOp::Gt => zip3(a, b, o, |x, y| x > y),
        BinaryOp::Ge => zip3(a, b, o, |x, y| x >= y),
        BinaryOp::Lt => zip3(a, b, o, |x, y| x < y),
        BinaryOp::Le => zip3(a, b, o, |x, y| x <= y),
        BinaryOp::Eq => zip3(a, b, o, |x, y| x == y),
        BinaryOp::Ne => zip3(a, b, o, |x, y| x != y),
        _ => return Err(internal("comparison")),
    }
    Ok(())
}

fn logical(op: BinaryOp, a: &[bool], b: &[bool], o: &mut [bool]) -> Result<()> {
    match op {
        BinaryOp::And | BinaryOp::Mul | BinaryOp::Min => zip3(a, b, o, |x, y| x & y),
        BinaryOp::Or | BinaryOp::Add | BinaryOp::Max => zip3(a, b, o, |x, y| x | y),
        BinaryOp::Sub => zip3(a, b, o, |x, y| x ^ y),
        _ => return Err(internal("arithmetic on bool")),
    }
    Ok(())
}

fn cast_slice<A: Element, B: Element>(a: &[A], o: &mut [B]) {
    zip2(a, o, |x| x.cast::<B>())
}

/// The registers an instruction reads.
fn operands(ins: &Instr) -> impl Iterator<Item = usize> {
    let (a, b, c) = match *ins {
        Instr::Input(_) | Instr::Const(_) => (None, None, None),
        Instr::Unary(_, a) | Instr::Cast(_, a) => (Some(a), None, None),
        Instr::Binary(_, a, b) => (Some(a), Some(b), None),
        Instr::Where(c, a, b) => (Some(c), Some(a), Some(b)),
    };
    [a, b, c].into_iter().flatten().map(|r| r as usize)
}

/// Tile buffers for a program's registers: register `r` lives in slot
/// `slot[r]`, and a slot is reused once every reader of its value has run
/// (never by one of its readers), so a chain's tiles stay few and in L1
/// (W1's 10 registers take 3 slots besides its 2 constants). Constants keep
/// slots of their own, filled once. Returns `slot` and each slot's type.
fn allocate_slots(prog: &Program) -> (Vec<usize>, Vec<DType>) {
    let instrs = prog.instrs();
    let n = instrs.len();
    // the last instruction reading each register (the output: read after all)
    let mut last: Vec<Option<usize>> = vec![None; n];
    for (r, ins) in instrs.iter().enumerate() {
        for a in operands(ins) {
            last[a] = Some(r);
        }
    }
    if n > 0 {
        last[prog.output() as usize] = Some(usize::MAX);
    }
    let is_const = |r: usize| matches!(instrs[r], Instr::Const(_));
    let mut slot = vec![0; n];
    let mut types: Vec<DType> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    for (r, ins) in instrs.iter().enumerate() {
        let d = prog.reg_dtype(r as u32);
        let reuse = if is_const(r) { None } else { free.iter().position(|&s| types[s] == d) };
        slot[r] = match reuse {
            Some(i) => free.swap_remove(i),
            None => {
                types.push(d);
                types.len() - 1
            }
        };
        // freed only after the result's slot is chosen, so no instruction
        // writes a slot it reads; a result nobody reads is freed at once
        let dead = last[r].is_none().then_some(r);
        for a in operands(ins).filter(|&a| last[a] == Some(r)).chain(dead) {
            if !is_const(a) && !free.contains(&slot[a]) {
                free.push(slot[a]);
            }
        }
    }
    (slot, types)
}

/// `o = a (op) s`, or with `rev` `o = s (op) a`, for a constant `s`: the
/// same IEEE operations as over a tile of constants, without reading one.
fn arith_scalar<T: Arith>(op: BinaryOp, a: &[T], s: T, rev: bool, o: &mut [T]) -> Result<()> {
    with_arith_fn!(op, T, f => if rev { zip2(a, o, |x| f(s, x)) } else { zip2(a, o, |x| f(x, s)) });
    Ok(())
}

/// Run instruction `r` over the first `len` elements: its operands are in
/// `regs` (register `a` in slot `slot[a]`), its result goes to `cur`.
fn step(prog: &Program, r: usize, regs: &[Buf], slot: &[usize], cur: &mut Buf, len: usize) -> Result<()> {
    let prev = |a: u32| &regs[slot[a as usize]];
    let ins = &prog.instrs()[r];

    match ins {
        Instr::Input(_) | Instr::Const(_) => {}
        Instr::Unary(op, a) => {
            let a = prev(*a);
            let d = prog.reg_dtype(r as u32);
            match op {
                UnaryOp::IsNan | UnaryOp::IsFinite => {
                    let o = &mut bool::buf_mut(cur)?[..len];
                    let ad = prog.reg_dtype(match ins { Instr::Unary(_, a) => *a, _ => 0 });
                    crate::dispatch_float!(ad, T => {
                        let x = &T::buf(a)?[..len];
                        if *op == UnaryOp::IsNan { zip2(x, o, |v| v.is_nan()) } else { zip2(x, o, |v| v.is_finite()) }
                    }, _ => o.fill(*op == UnaryOp::IsFinite))
                }
                UnaryOp::Not => {
                    let x = &bool::buf(a)?[..len];
                    zip2(x, &mut bool::buf_mut(cur)?[..len], |v| !v)
                }
                _ => crate::dispatch_float!(d, T => float_unary::<T>(*op, &T::buf(a)?[..len], &mut T::buf_mut(cur)?[..len])?,
                    _ => crate::dispatch_numeric!(d, T => arith_unary::<T>(*op, &T::buf(a)?[..len], &mut T::buf_mut(cur)?[..len])?,
                        _ => return Err(internal("arithmetic on bool")))),
            }
        }
        Instr::Binary(op, ra, rb) => {
            let d = prog.reg_dtype(*ra);
            let (a, b) = (prev(*ra), prev(*rb));
            let konst = |r: u32| match &prog.instrs()[r as usize] {
                Instr::Const(s) => Some(*s),
                _ => None,
            };
            let scalar = if op.is_comparison() || d == DType::Bool {
                None
            } else {
                konst(*rb).map(|s| (a, s, false)).or_else(|| konst(*ra).map(|s| (b, s, true)))
            };
            if let Some((x, s, rev)) = scalar {
                crate::dispatch_numeric!(d, T => arith_scalar::<T>(*op, &T::buf(x)?[..len], T::from_prim(s.prim()), rev, &mut T::buf_mut(cur)?[..len])?,
                    _ => return Err(internal("arithmetic on bool")))
            } else if op.is_comparison() {
                let o = &mut bool::buf_mut(cur)?[..len];
                crate::dispatch_dtype!(d, T => compare::<T>(*op, &T::buf(a)?[..len], &T::buf(b)?[..len], o)?)
            } else if d == DType::Bool {
                logical(*op, &bool::buf(a)?[..len], &bool::buf(b)?[..len], &mut bool::buf_mut(cur)?[..len])?
            } else {
                crate::dispatch_numeric!(d, T => arith_binary::<T>(*op, &T::buf(a)?[..len], &T::buf(b)?[..len], &mut T::buf_mut(cur)?[..len])?,
                    _ => return Err(internal("arithmetic on bool")))
            }
        }
        Instr::Cast(to, a) => {
            let from = prog.reg_dtype(*a);
            let a = prev(*a);
            crate::dispatch_dtype!(from, A => crate::dispatch_dtype!(*to, B => cast_slice::<A, B>(&A::buf(a)?[..len], &mut B::buf_mut(cur)?[..len])))
        }
        Instr::Where(c, a, b) => {
            let d = prog.reg_dtype(*a);
            let c = &bool::buf(prev(*c))?[..len];
            let (a, b) = (prev(*a), prev(*b));
            crate::dispatch_dtype!(d, T => {
                let (x, y) = (&T::buf(a)?[..len], &T::buf(b)?[..len]);
                let o = &mut T::buf_mut(cur)?[..len];
                for i in 0..len {
                    o[i] = if c[i] { x[i] } else { y[i] };
                }
            })
        }
    }
    Ok(())
}

/// Evaluate `prog` over a block of `shape`, calling `sink` with each tile of
/// the output register (`len` valid elements), in row-major order.
pub fn eval_tiles(prog: &Program, inputs: &[TileInput], shape: &[usize], mut sink: impl FnMut(&Buf, usize) -> Result<()>) -> Result<()> {
    if inputs.len() != prog.n_inputs() {
        return Err(internal("input count"));
    }
    let n: usize = shape.iter().product();
    // a random block that broadcasts (a shape other than the block's) is made whole
    let made: Vec<Option<Chunk>> = inputs
        .iter()
        .map(|i| match i {
            TileInput::Random(g) if g.shape() != shape => g.to_chunk().map(Some),
            _ => Ok(None),
        })
        .collect::<Result<_>>()?;
    let raws: Vec<Option<RawInput>> = inputs
        .iter()
        .zip(&made)
        .map(|(i, m)| match (i, m) {
            (_, Some(c)) => raw_input(c, shape).map(Some),
            (TileInput::Block(c), None) => raw_input(c, shape).map(Some),
            (TileInput::Random(_), None) => Ok(None),
        })
        .collect::<Result<_>>()?;
    // (no raw view: a random input, made as f64)
    for (r, d) in raws.iter().zip(prog.input_dtypes()) {
        let got = r.as_ref().map_or(DType::F64, |r| r.dtype);
        if got != *d {
            return Err(Error::Execution(format!("internal: program input is {} but the block is {}", d, got)));
        }
    }
    let tile = TILE.min(n.max(1));
    let (slot, types) = allocate_slots(prog);
    let mut regs: Vec<Buf> = types.iter().map(|&d| Buf::new(d, tile)).collect();
    for (r, ins) in prog.instrs().iter().enumerate() {
        if let Instr::Const(s) = ins {
            crate::dispatch_dtype!(s.dtype(), T => T::buf_mut(&mut regs[slot[r]])?.fill(T::from_prim(s.prim())));
        }
    }
    let mut idx = Vec::new();
    let out = slot[prog.output() as usize];
    let mut start = 0;
    while start < n {
        let len = tile.min(n - start);
        for (r, ins) in prog.instrs().iter().enumerate() {
            match ins {
                Instr::Input(i) => {
                    let Some(raw) = &raws[*i] else {
                        let TileInput::Random(g) = inputs[*i] else { return Err(internal("input kind")) };
                        g.fill(start, &mut f64::buf_mut(&mut regs[slot[r]])?[..len]);
                        continue;
                    };
                    crate::dispatch_dtype!(raw.dtype, T => {
                        let dst = &mut T::buf_mut(&mut regs[slot[r]])?[..len];
                        // SAFETY: the view was made from a live chunk broadcast to `shape`; start+len <= n.
                        unsafe { gather(raw.ptr as *const T, &raw.strides, shape, raw.contiguous, start, dst, &mut idx) }
                    })
                }
                Instr::Const(_) => {}
                _ => {
                    // the result's slot is out of `regs` while the operands are read
                    let mut cur = std::mem::replace(&mut regs[slot[r]], Buf::Bool(Vec::new()));
                    let done = step(prog, r, &regs, &slot, &mut cur, len);
                    regs[slot[r]] = cur;
                    done?;
                }
            }
        }
        sink(&regs[out], len)?;
        start += len;
    }
    Ok(())
}

/// Evaluate `prog` over a block of `shape` into a new chunk.
pub fn eval(prog: &Program, inputs: &[TileInput], shape: &[usize]) -> Result<Chunk> {
    if prog.is_identity() {
        if let TileInput::Block(c) = inputs[0] {
            return Ok(c.clone());
        }
    }
    let n: usize = shape.iter().product();
    let d = prog.output_dtype();
    crate::dispatch_dtype!(d, T => {
        let mut v: Vec<T> = Vec::with_capacity(n);
        eval_tiles(prog, inputs, shape, |b, len| {
            v.extend_from_slice(&T::buf(b)?[..len]);
            Ok(())
        })?;
        let a = ArrayD::from_shape_vec(IxDyn(shape), v).map_err(|e| Error::Execution(e.to_string()))?;
        Ok(<T as crate::exec::cpu::chunk::HostElement>::wrap(a))
    })
}

/// Evaluate `prog` over a block straight into its region of an output
/// array (the block is never a chunk of its own).
///
/// # Safety
/// The region must be a live part of an array that nothing else reads or
/// writes while this runs.
pub unsafe fn eval_into(prog: &Program, inputs: &[TileInput], dst: &Region) -> Result<()> {
    let d = prog.output_dtype();
    if d != dst.dtype {
        return Err(Error::Execution(format!("internal: program makes {d} but the output is {}", dst.dtype)));
    }
    if dst.strides.last().is_some_and(|&s| s != 1) {
        return Err(internal("output region with a strided last axis"));
    }
    let shape = &dst.shape;
    let mut idx = Vec::new();
    let mut start = 0;
    crate::dispatch_dtype!(d, T => {
        let ptr = dst.ptr as *mut T;
        eval_tiles(prog, inputs, shape, |b, len| {
            let src = &T::buf(b)?[..len];
            // SAFETY: the tile is elements start..start+len of the block
            // (eval_tiles' order), inside the region (the caller's promise).
            unsafe { scatter(ptr, dst, start, src, &mut idx) };
            start += len;
            Ok(())
        })
    })?;
    if dst.streaming {
        streaming_done();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::Scalar;
    use ndarray::array;

    #[test]
    fn broadcast_inputs_are_read_through_strides() {
        // (3,1) + (4,) -> (3,4), with a non-contiguous (transposed) input too
        let a = Chunk::F64(array![[1.0], [2.0], [3.0]].into_dyn());
        let b = Chunk::F64(array![10.0, 20.0, 30.0, 40.0].into_dyn());
        let mut p = Program::with_inputs(vec![DType::F64, DType::F64]);
        let (x, y) = (p.input(0), p.input(1));
        let s = p.binary(BinaryOp::Add, x, y);
        let p = p.finish(s);
        let out = eval(&p, &[TileInput::Block(&a), TileInput::Block(&b)], &[3, 4]).unwrap();
        let Chunk::F64(o) = out else { panic!() };
        assert_eq!(o, array![[11., 21., 31., 41.], [12., 22., 32., 42.], [13., 23., 33., 43.]].into_dyn());

        let t = Chunk::F64(array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]].reversed_axes().into_dyn());
        let mut p = Program::with_inputs(vec![DType::F64]);
        let x = p.input(0);
        let c = p.constant(Scalar::F64(2.0));
        let m = p.binary(BinaryOp::Mul, x, c);
        let p = p.finish(m);
        let Chunk::F64(o) = eval(&p, &[TileInput::Block(&t)], &[3, 2]).unwrap() else { panic!() };
        assert_eq!(o, array![[2., 8.], [4., 10.], [6., 12.]].into_dyn());
    }

    #[test]
    fn random_inputs_made_by_tiles_equal_the_made_block() {
        use crate::chunks::Chunks;
        use crate::expr::{Distribution, Source};
        let src = Source::Random { dist: Distribution::Uniform, a: -1.0, b: 3.0, seed: 5 };
        // a 7 x 2500 array in blocks of 3 rows and 1100 / 1400 columns: tiles cross rows
        let chunks = Chunks::new(&[7, 2500], vec![vec![3, 3, 1], vec![1100, 1400]]).unwrap();
        let mut p = Program::with_inputs(vec![DType::F64]);
        let x = p.input(0);
        let c = p.constant(Scalar::F64(2.0));
        let m = p.binary(BinaryOp::Mul, x, c);
        let p = p.finish(m);
        for block in [[0, 0], [1, 1], [2, 0]] {
            let g = RandomBlock::new(&src, &[7, 2500], &chunks, &block).unwrap();
            let whole = g.to_chunk().unwrap();
            let Chunk::F64(by_tiles) = eval(&p, &[TileInput::Random(&g)], g.shape()).unwrap() else { panic!() };
            let Chunk::F64(from_block) = eval(&p, &[TileInput::Block(&whole)], g.shape()).unwrap() else { panic!() };
            assert_eq!(by_tiles, from_block);
            assert!(by_tiles.iter().all(|v| (-2.0..6.0).contains(v)));
            // a block of one row broadcast down 4 rows is made whole first
            let row = RandomBlock::new(&src, &[1, 2500], &Chunks::new(&[1, 2500], vec![vec![1], vec![1100, 1400]]).unwrap(), &[0, block[1]]).unwrap();
            let shape = [4, row.shape()[1]];
            let made = row.to_chunk().unwrap();
            let Chunk::F64(a) = eval(&p, &[TileInput::Random(&row)], &shape).unwrap() else { panic!() };
            let Chunk::F64(b) = eval(&p, &[TileInput::Block(&made)], &shape).unwrap() else { panic!() };
            assert_eq!(a.shape(), &shape);
            assert_eq!(a, b);
        }
    }

    /// No slot is written between a value's definition and its last read,
    /// and no instruction's result shares a slot with its operands.
    fn check_slots(p: &Program) -> usize {
        let (slot, types) = allocate_slots(p);
        let ins = p.instrs();
        for (r, i) in ins.iter().enumerate() {
            assert_eq!(types[slot[r]], p.reg_dtype(r as u32));
            for a in operands(i) {
                assert_ne!(slot[a], slot[r], "instruction {r} writes the slot of its operand {a}");
                for w in a + 1..r {
                    assert_ne!(slot[w], slot[a], "{w} overwrites {a} before {r} reads it");
                }
            }
        }
        let out = p.output() as usize;
        for w in out + 1..ins.len() {
            assert_ne!(slot[w], slot[out], "{w} overwrites the output");
        }
        types.len()
    }

    #[test]
    fn registers_share_slots_once_their_readers_have_run() {
        // W1's chain: abs(sin(x) * 2 + y * y - 1)
        let mut p = Program::with_inputs(vec![DType::F64, DType::F64]);
        let (x, y) = (p.input(0), p.input(1));
        let s = p.unary(UnaryOp::Sin, x);
        let two = p.constant(Scalar::F64(2.0));
        let m = p.binary(BinaryOp::Mul, s, two);
        let yy = p.binary(BinaryOp::Mul, y, y);
        let a = p.binary(BinaryOp::Add, m, yy);
        let one = p.constant(Scalar::F64(1.0));
        let d = p.binary(BinaryOp::Sub, a, one);
        let r = p.unary(UnaryOp::Abs, d);
        let w1 = p.finish(r);
        assert_eq!(check_slots(&w1), 3 + 2, "3 tiles and 2 constants");
        // a value read again late, a comparison, a select, a cast, a dead value
        let mut p = Program::with_inputs(vec![DType::F32]);
        let x = p.input(0);
        let e = p.unary(UnaryOp::Exp, x);
        let _dead = p.unary(UnaryOp::Neg, x);
        let z = p.constant(Scalar::F32(0.5));
        let c = p.binary(BinaryOp::Gt, e, z);
        let n = p.unary(UnaryOp::Neg, e);
        let w = p.select(c, x, n);
        let f = p.cast(DType::F64, w);
        let g = p.binary(BinaryOp::Add, f, f);
        let h = p.binary(BinaryOp::Sub, z, x);
        let hc = p.cast(DType::F64, h);
        let out = p.binary(BinaryOp::Mul, g, hc);
        let p = p.finish(out);
        check_slots(&p);
        let xs: Vec<f32> = (0..3000).map(|i| (i as f32 - 1500.0) / 300.0).collect();
        let a = Chunk::F32(ArrayD::from_shape_vec(IxDyn(&[3000]), xs.clone()).unwrap());
        let Chunk::F64(got) = eval(&p, &[TileInput::Block(&a)], &[3000]).unwrap() else { panic!() };
        for (v, x) in got.iter().zip(&xs) {
            let e = x.exp();
            let w = if e > 0.5 { *x } else { -e };
            let want = ((w as f64) + (w as f64)) * ((0.5 - x) as f64);
            // (exp's last bit may differ from libm's: not what is tested)
            assert!((v - want).abs() <= 1e-6 * want.abs(), "x = {x}: {v} vs {want}");
        }
    }

    #[test]
    fn blocks_evaluated_into_their_output_regions_equal_eval() {
        use super::super::out_buf::OutBuf;
        // a 5 x 2300 i32 output (rows of odd byte length: stores start
        // unaligned) from blocks of rows 2/3 and columns 1000/1300, written
        // with plain and with non-temporal stores
        let (rows, cols) = ([2, 3], [1000, 1300]);
        let mut p = Program::with_inputs(vec![DType::I32]);
        let x = p.input(0);
        let c = p.constant(Scalar::I32(3));
        let m = p.binary(BinaryOp::Mul, x, c);
        let p = p.finish(m);
        for streaming in [false, true] {
            let out = OutBuf::new(DType::I32, &[5, 2300]);
            let mut want = ndarray::Array2::<i32>::zeros((5, 2300));
            for (bi, &r) in rows.iter().enumerate() {
                for (bj, &c) in cols.iter().enumerate() {
                    let start = [bi * rows[0], bj * cols[0]];
                    let a = Chunk::I32(ArrayD::from_shape_fn(IxDyn(&[r, c]), |i| (i[0] * 10_000 + i[1]) as i32 + 7 * bj as i32));
                    let mut reg = out.region(&start, &[r, c]).unwrap();
                    assert!(!reg.contiguous);
                    reg.streaming = streaming;
                    unsafe { eval_into(&p, &[TileInput::Block(&a)], &reg).unwrap() };
                    out.wrote(r * c);
                    let Chunk::I32(e) = eval(&p, &[TileInput::Block(&a)], &[r, c]).unwrap() else { panic!() };
                    want.slice_mut(ndarray::s![start[0]..start[0] + r, start[1]..start[1] + c]).assign(&e);
                }
            }
            let Chunk::I32(got) = out.finish().unwrap() else { panic!() };
            assert_eq!(got, want.into_dyn(), "streaming {streaming}");
        }
        // a contiguous region (whole rows), and a program of another dtype is refused
        let out = OutBuf::new(DType::I32, &[4, 3]);
        let a = Chunk::I32(ArrayD::from_shape_fn(IxDyn(&[2, 3]), |i| (i[0] * 3 + i[1]) as i32));
        let reg = out.region(&[2, 0], &[2, 3]).unwrap();
        assert!(reg.contiguous);
        unsafe { eval_into(&p, &[TileInput::Block(&a)], &reg).unwrap() };
        let other = OutBuf::new(DType::I64, &[4, 3]);
        assert!(unsafe { eval_into(&p, &[TileInput::Block(&a)], &other.region(&[0, 0], &[2, 3]).unwrap()) }.is_err());
    }

    #[test]
    fn long_blocks_cross_tiles_and_cast() {
        let n = TILE * 3 + 17;
        let a = Chunk::I32(ArrayD::from_shape_fn(IxDyn(&[n]), |i| i[0] as i32 - 5));
        let mut p = Program::with_inputs(vec![DType::I32]);
        let x = p.input(0);
        let f = p.cast(DType::F64, x);
        let ab = p.unary(UnaryOp::Abs, f);
        let p = p.finish(ab);
        let Chunk::F64(o) = eval(&p, &[TileInput::Block(&a)], &[n]).unwrap() else { panic!() };
        for (i, v) in o.iter().enumerate() {
            assert_eq!(*v, (i as f64 - 5.0).abs());
        }
    }
}
