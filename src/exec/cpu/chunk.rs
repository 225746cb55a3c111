//! Host chunk values: `Chunk`, an n-d array of any element type, and the
//! per-type glue (`HostElement`) that moves between `Chunk` and typed arrays.

use ndarray::{ArrayD, IxDyn, SliceInfoElem};

use crate::dtype::{DType, Element, Scalar};
use crate::error::{Error, Result};

/// One block of data on the host, of any element type.
#[derive(Clone, Debug)]
pub enum Chunk {
    Bool(ArrayD<bool>),
    I8(ArrayD<i8>),
    I16(ArrayD<i16>),
    I32(ArrayD<i32>),
    I64(ArrayD<i64>),
    U8(ArrayD<u8>),
    U16(ArrayD<u16>),
    U32(ArrayD<u32>),
    U64(ArrayD<u64>),
    F32(ArrayD<f32>),
    F64(ArrayD<f64>),
}

/// Run `$body` with `$a` bound to the typed array inside `$c` (and `$T` to its element type).
#[macro_export]
#[doc(hidden)]
macro_rules! with_chunk {
    ($c:expr, $a:ident, $T:ident => $body:expr) => {
        match $c {
            $crate::exec::cpu::chunk::Chunk::Bool($a) => { #[allow(dead_code)] type $T = bool; $body }
            $crate::exec::cpu::chunk::Chunk::I8($a) => { #[allow(dead_code)] type $T = i8; $body }
            $crate::exec::cpu::chunk::Chunk::I16($a) => { #[allow(dead_code)] type $T = i16; $body }
            $crate::exec::cpu::chunk::Chunk::I32($a) => { #[allow(dead_code)] type $T = i32; $body }
            $crate::exec::cpu::chunk::Chunk::I64($a) => { #[allow(dead_code)] type $T = i64; $body }
            $crate::exec::cpu::chunk::Chunk::U8($a) => { #[allow(dead_code)] type $T = u8; $body }
            $crate::exec::cpu::chunk::Chunk::U16($a) => { #[allow(dead_code)] type $T = u16; $body }
            $crate::exec::cpu::chunk::Chunk::U32($a) => { #[allow(dead_code)] type $T = u32; $body }
            $crate::exec::cpu::chunk::Chunk::U64($a) => { #[allow(dead_code)] type $T = u64; $body }
            $crate::exec::cpu::chunk::Chunk::F32($a) => { #[allow(dead_code)] type $T = f32; $body }
            $crate::exec::cpu::chunk::Chunk::F64($a) => { #[allow(dead_code)] type $T = f64; $body }
        }
    };
}

/// Moving typed arrays in and out of `Chunk`. Implemented for every `Element`.
pub trait HostElement: Sized + Clone {
    fn wrap(a: ArrayD<Self>) -> Chunk;
    fn peel(c: &Chunk) -> Option<&ArrayD<Self>>;
    fn peel_owned(c: Chunk) -> std::result::Result<ArrayD<Self>, Chunk>;
    /// Smallest and largest values (±inf for floats): identities of max and min.
    fn lowest() -> Self;
    fn highest() -> Self;
}

macro_rules! host_element {
    ($t:ty, $v:ident, $lo:expr, $hi:expr) => {
        impl HostElement for $t {
            #[inline]
            fn wrap(a: ArrayD<Self>) -> Chunk {
                Chunk::$v(a)
            }
            #[inline]
            fn peel(c: &Chunk) -> Option<&ArrayD<Self>> {
                match c {
                    Chunk::$v(a) => Some(a),
                    _ => None,
                }
            }
            #[inline]
            fn peel_owned(c: Chunk) -> std::result::Result<ArrayD<Self>, Chunk> {
                match c {
                    Chunk::$v(a) => Ok(a),
                    other => Err(other),
                }
            }
            #[inline]
            fn lowest() -> Self {
                $lo
            }
            #[inline]
            fn highest() -> Self {
                $hi
            }
        }
    };
}
host_element!(bool, Bool, false, true);
host_element!(i8, I8, i8::MIN, i8::MAX);
host_element!(i16, I16, i16::MIN, i16::MAX);
host_element!(i32, I32, i32::MIN, i32::MAX);
host_element!(i64, I64, i64::MIN, i64::MAX);
host_element!(u8, U8, u8::MIN, u8::MAX);
host_element!(u16, U16, u16::MIN, u16::MAX);
host_element!(u32, U32, u32::MIN, u32::MAX);
host_element!(u64, U64, u64::MIN, u64::MAX);
host_element!(f32, F32, f32::NEG_INFINITY, f32::INFINITY);
host_element!(f64, F64, f64::NEG_INFINITY, f64::INFINITY);

pub(crate) fn type_err(want: DType, got: &Chunk) -> Error {
    Error::Execution(format!("internal: expected a {want} chunk, got {}", got.dtype()))
}

/// Borrow the typed array of a chunk, or an execution error.
pub fn typed<T: Element>(c: &Chunk) -> Result<&ArrayD<T>> {
    T::peel(c).ok_or_else(|| type_err(T::DTYPE, c))
}

impl Chunk {
    pub fn dtype(&self) -> DType {
        with_chunk!(self, _a, T => <T as Element>::DTYPE)
    }
    pub fn shape(&self) -> &[usize] {
        with_chunk!(self, a, T => a.shape())
    }
    pub fn len(&self) -> usize {
        with_chunk!(self, a, T => a.len())
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn nbytes(&self) -> u64 {
        (self.len() * self.dtype().size()) as u64
    }
    /// An array of `shape` filled with `v`.
    pub fn full(shape: &[usize], v: Scalar) -> Chunk {
        crate::dispatch_dtype!(v.dtype(), T => T::wrap(ArrayD::from_elem(IxDyn(shape), T::from_prim(v.prim()))))
    }
    /// An array of `shape` filled with zeros of `dtype`.
    pub fn zeros(dtype: DType, shape: &[usize]) -> Chunk {
        crate::dispatch_dtype!(dtype, T => T::wrap(ArrayD::from_elem(IxDyn(shape), T::default())))
    }
    /// Copy the region starting at `start` with `shape` into a new chunk.
    pub fn region(&self, start: &[usize], shape: &[usize]) -> Chunk {
        let info = region_info(start, shape);
        with_chunk!(self, a, T => T::wrap(owned_rows(a.slice(info.as_slice()))))
    }
    /// A copy in standard (C-contiguous) layout.
    pub fn to_standard(&self) -> Chunk {
        with_chunk!(self, a, T => T::wrap(if a.is_standard_layout() { a.clone() } else { a.as_standard_layout().into_owned() }))
    }
    /// Write `src` into this chunk at offset `start`.
    pub fn assign_at(&mut self, start: &[usize], src: &Chunk) -> Result<()> {
        let info = region_info(start, src.shape());
        with_chunk!(self, a, T => {
            let s = typed::<T>(src)?;
            a.slice_mut(info.as_slice()).assign(s);
            Ok(())
        })
    }
    /// Copy the part of `src` (whose origin is at global `src_start`) that
    /// overlaps this chunk (whose origin is at global `dst_start`).
    pub fn copy_overlap(&mut self, dst_start: &[usize], src: &Chunk, src_start: &[usize]) -> Result<()> {
        let nd = dst_start.len();
        let dshape = self.shape().to_vec();
        let mut d_info = Vec::with_capacity(nd);
        let mut s_info = Vec::with_capacity(nd);
        for k in 0..nd {
            let lo = dst_start[k].max(src_start[k]);
            let hi = (dst_start[k] + dshape[k]).min(src_start[k] + src.shape()[k]);
            if hi <= lo {
                return Ok(());
            }
            d_info.push(SliceInfoElem::Slice { start: (lo - dst_start[k]) as isize, end: Some((hi - dst_start[k]) as isize), step: 1 });
            s_info.push(SliceInfoElem::Slice { start: (lo - src_start[k]) as isize, end: Some((hi - src_start[k]) as isize), step: 1 });
        }
        with_chunk!(self, a, T => {
            let s = typed::<T>(src)?;
            a.slice_mut(d_info.as_slice()).assign(&s.slice(s_info.as_slice()));
            Ok(())
        })
    }
    /// The same data with a new axis of length 1.
    pub fn insert_axis(self, axis: usize) -> Chunk {
        with_chunk!(self, a, T => T::wrap(a.insert_axis(ndarray::Axis(axis))))
    }
    /// The same data with another shape of the same size (standard layout).
    pub fn reshaped(self, shape: &[usize]) -> Result<Chunk> {
        with_chunk!(self, a, T => {
            let a = a.as_standard_layout().into_owned();
            a.into_shape_with_order(IxDyn(shape))
                .map(T::wrap)
                .map_err(|e| Error::Execution(format!("internal reshape: {e}")))
        })
    }
}

/// A view copied into a new standard-layout array a last-axis row at a
/// time (`to_owned` of a strided view goes element by element through
/// ndarray's n-d iterator: 6% of W5's samples, the halo trim).
fn owned_rows<T: Clone>(v: ndarray::ArrayViewD<'_, T>) -> ArrayD<T> {
    if v.ndim() == 0 || v.is_standard_layout() {
        return v.to_owned();
    }
    let mut out = Vec::with_capacity(v.len());
    for row in v.rows() {
        match row.as_slice() {
            Some(r) => out.extend_from_slice(r),
            None => out.extend(row.iter().cloned()),
        }
    }
    ArrayD::from_shape_vec(v.raw_dim(), out).expect("rows of the view fill its shape")
}

pub(crate) fn region_info(start: &[usize], shape: &[usize]) -> Vec<SliceInfoElem> {
    start
        .iter()
        .zip(shape)
        .map(|(&s, &n)| SliceInfoElem::Slice { start: s as isize, end: Some((s + n) as isize), step: 1 })
        .collect()
}

/// A tile-sized register of the program interpreter, of any element type.
#[derive(Clone, Debug)]
pub enum Buf {
    Bool(Vec<bool>),
    I8(Vec<i8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    F32(Vec<f32>),
    F64(Vec<f64>),
}

/// Typed access to `Buf` registers.
pub trait BufElem: Sized + Copy + Default {
    fn new_buf(n: usize) -> Buf;
    fn buf(b: &Buf) -> Result<&[Self]>;
    fn buf_mut(b: &mut Buf) -> Result<&mut [Self]>;
}

macro_rules! buf_elem {
    ($($t:ty => $v:ident),*) => {$(
        impl BufElem for $t {
            fn new_buf(n: usize) -> Buf { Buf::$v(vec![<$t>::default(); n]) }
            #[inline]
            fn buf(b: &Buf) -> Result<&[Self]> {
                match b { Buf::$v(v) => Ok(v), _ => Err(Error::Execution("internal: register type".into())) }
            }
            #[inline]
            fn buf_mut(b: &mut Buf) -> Result<&mut [Self]> {
                match b { Buf::$v(v) => Ok(v), _ => Err(Error::Execution("internal: register type".into())) }
            }
        }
    )*};
}
buf_elem!(bool => Bool, i8 => I8, i16 => I16, i32 => I32, i64 => I64, u8 => U8, u16 => U16, u32 => U32, u64 => U64, f32 => F32, f64 => F64);

impl Buf {
    pub fn new(dtype: DType, n: usize) -> Buf {
        crate::dispatch_dtype!(dtype, T => <T as BufElem>::new_buf(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_equal_ndarray_slices() {
        let a = ArrayD::from_shape_fn(IxDyn(&[4, 5, 6]), |i| (i[0] * 100 + i[1] * 10 + i[2]) as f64);
        let c = Chunk::F64(a.clone());
        let cases: [(&[usize], &[usize]); 6] = [
            (&[0, 0, 0], &[4, 5, 6]),
            (&[1, 1, 1], &[2, 3, 4]),
            (&[0, 2, 5], &[4, 3, 1]),
            (&[3, 0, 0], &[1, 5, 6]),
            (&[1, 1, 1], &[2, 0, 4]),
            (&[2, 4, 3], &[2, 1, 0]),
        ];
        for (start, shape) in cases {
            let got = c.region(start, shape);
            let want = a.slice(region_info(start, shape).as_slice()).to_owned();
            assert_eq!(got.shape(), want.shape(), "{start:?} {shape:?}");
            assert_eq!(typed::<f64>(&got).unwrap(), &want, "{start:?} {shape:?}");
        }
        // a 0-d chunk
        let z = Chunk::F64(ArrayD::from_elem(IxDyn(&[]), 7.0));
        assert_eq!(typed::<f64>(&z.region(&[], &[])).unwrap()[IxDyn(&[])], 7.0);
    }
}
