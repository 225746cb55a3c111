//! Element types: the `DType` tag, the `Element` trait for the eleven
//! supported Rust types, and `Scalar`, a dynamically typed value.

use std::fmt;
use std::hash::{Hash, Hasher};

/// The element type of an array, as a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    Bool,
    I8,
    I16,
    I32,
    I64,
    U8,
    U16,
    U32,
    U64,
    F32,
    F64,
}

impl DType {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::Bool | DType::I8 | DType::U8 => 1,
            DType::I16 | DType::U16 => 2,
            DType::I32 | DType::U32 | DType::F32 => 4,
            DType::I64 | DType::U64 | DType::F64 => 8,
        }
    }
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }
    pub fn is_signed_int(self) -> bool {
        matches!(self, DType::I8 | DType::I16 | DType::I32 | DType::I64)
    }
    pub fn is_unsigned_int(self) -> bool {
        matches!(self, DType::U8 | DType::U16 | DType::U32 | DType::U64)
    }
    /// NumPy's name of the type (`float64`, `int32`, `bool`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::U8 => "uint8",
            DType::U16 => "uint16",
            DType::U32 => "uint32",
            DType::U64 => "uint64",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }
    /// The accumulator type of `sum`/`prod`/`cumsum` (`Element::Sum`).
    pub fn sum_dtype(self) -> DType {
        if self.is_float() {
            self
        } else if self.is_unsigned_int() {
            DType::U64
        } else {
            DType::I64
        }
    }
    /// The result type of `mean`/`var`/`std` (`Element::Float`).
    pub fn float_dtype(self) -> DType {
        if self.is_float() {
            self
        } else {
            DType::F64
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A single value of any element type.
///
/// Equality is bit for bit within the same type (`0.0 != -0.0`, a NaN equals
/// the same NaN), so that two plans with different constants never compare
/// equal; compare values with [`Scalar::prim`] for numeric equality.
#[derive(Clone, Copy, Debug)]
pub enum Scalar {
    Bool(bool),
    I8(i8),
    I16(i16),
    I32(i32),
    I64(i64),
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    F32(f32),
    F64(f64),
}

/// A value in one of the three numeric classes, for `as`-style casts.
#[derive(Clone, Copy, Debug)]
pub enum Prim {
    B(bool),
    I(i64),
    U(u64),
    F(f64),
}

impl Scalar {
    pub fn dtype(self) -> DType {
        match self {
            Scalar::Bool(_) => DType::Bool,
            Scalar::I8(_) => DType::I8,
            Scalar::I16(_) => DType::I16,
            Scalar::I32(_) => DType::I32,
            Scalar::I64(_) => DType::I64,
            Scalar::U8(_) => DType::U8,
            Scalar::U16(_) => DType::U16,
            Scalar::U32(_) => DType::U32,
            Scalar::U64(_) => DType::U64,
            Scalar::F32(_) => DType::F32,
            Scalar::F64(_) => DType::F64,
        }
    }
    pub fn prim(self) -> Prim {
        match self {
            Scalar::Bool(v) => Prim::B(v),
            Scalar::I8(v) => Prim::I(v as i64),
            Scalar::I16(v) => Prim::I(v as i64),
            Scalar::I32(v) => Prim::I(v as i64),
            Scalar::I64(v) => Prim::I(v),
            Scalar::U8(v) => Prim::U(v as u64),
            Scalar::U16(v) => Prim::U(v as u64),
            Scalar::U32(v) => Prim::U(v as u64),
            Scalar::U64(v) => Prim::U(v),
            Scalar::F32(v) => Prim::F(v as f64),
            Scalar::F64(v) => Prim::F(v),
        }
    }
    /// Convert with NumPy `astype` semantics (Rust `as`; float → int truncates).
    pub fn cast(self, to: DType) -> Scalar {
        crate::dispatch_dtype!(to, T => T::from_prim(self.prim()).to_scalar())
    }
    /// The value as f64 (`as` semantics).
    pub fn as_f64(self) -> f64 {
        match self.prim() {
            Prim::B(b) => b as u8 as f64,
            Prim::I(v) => v as f64,
            Prim::U(v) => v as f64,
            Prim::F(v) => v,
        }
    }
    fn bits(self) -> u64 {
        match self.prim() {
            Prim::B(b) => b as u64,
            Prim::I(v) => v as u64,
            Prim::U(v) => v,
            Prim::F(v) => v.to_bits(),
        }
    }
}

impl PartialEq for Scalar {
    fn eq(&self, other: &Scalar) -> bool {
        self.dtype() == other.dtype() && self.bits() == other.bits()
    }
}
impl Eq for Scalar {}
impl Hash for Scalar {
    fn hash<H: Hasher>(&self, h: &mut H) {
        self.dtype().hash(h);
        self.bits().hash(h);
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.prim() {
            Prim::B(v) => write!(f, "{v}"),
            Prim::I(v) => write!(f, "{v}"),
            Prim::U(v) => write!(f, "{v}"),
            Prim::F(v) => write!(f, "{v:?}"),
        }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// The element types floe arrays hold: bool, i8–i64, u8–u64, f32, f64.
pub trait Element:
    Copy + Send + Sync + 'static + fmt::Debug + fmt::Display + PartialOrd + Default + sealed::Sealed
    + crate::exec::cpu::chunk::HostElement
{
    /// Accumulator of `sum`/`prod`: i64 for signed ints and bool, u64 for unsigned, T for floats.
    type Sum: Element;
    /// Result of `mean`/`var`/`std`: T for f32/f64, f64 otherwise.
    type Float: FloatElement;
    const DTYPE: DType;
    fn to_scalar(self) -> Scalar;
    fn to_prim(self) -> Prim;
    /// `as`-style conversion from any numeric class.
    fn from_prim(p: Prim) -> Self;
    #[inline]
    fn cast<U: Element>(self) -> U {
        U::from_prim(self.to_prim())
    }
}

/// Numeric element types: every element type but bool. Arithmetic operators need it.
pub trait Numeric: Element {}
/// Signed ints and floats (`abs`, unary minus is for all numeric types).
pub trait SignedElement: Numeric {}
/// f32 and f64: the transcendental functions need it.
pub trait FloatElement: SignedElement {}

macro_rules! prim_to {
    (bool, $p:expr) => {
        match $p {
            Prim::B(b) => b,
            Prim::I(v) => v != 0,
            Prim::U(v) => v != 0,
            Prim::F(v) => v != 0.0,
        }
    };
    ($t:ty, $p:expr) => {
        match $p {
            Prim::B(b) => b as u8 as $t,
            Prim::I(v) => v as $t,
            Prim::U(v) => v as $t,
            Prim::F(v) => v as $t,
        }
    };
}

macro_rules! element {
    ($t:ident, $variant:ident, $sum:ty, $float:ty, $class:ident) => {
        impl sealed::Sealed for $t {}
        impl Element for $t {
            type Sum = $sum;
            type Float = $float;
            const DTYPE: DType = DType::$variant;
            #[inline]
            fn to_scalar(self) -> Scalar {
                Scalar::$variant(self)
            }
            #[inline]
            fn to_prim(self) -> Prim {
                element!(@prim $class, self)
            }
            #[inline]
            fn from_prim(p: Prim) -> Self {
                prim_to!($t, p)
            }
        }
    };
    (@prim B, $v:expr) => { Prim::B($v) };
    (@prim I, $v:expr) => { Prim::I($v as i64) };
    (@prim U, $v:expr) => { Prim::U($v as u64) };
    (@prim F, $v:expr) => { Prim::F($v as f64) };
}

element!(bool, Bool, i64, f64, B);
element!(i8, I8, i64, f64, I);
element!(i16, I16, i64, f64, I);
element!(i32, I32, i64, f64, I);
element!(i64, I64, i64, f64, I);
element!(u8, U8, u64, f64, U);
element!(u16, U16, u64, f64, U);
element!(u32, U32, u64, f64, U);
element!(u64, U64, u64, f64, U);
element!(f32, F32, f32, f32, F);
element!(f64, F64, f64, f64, F);

impl Numeric for i8 {}
impl Numeric for i16 {}
impl Numeric for i32 {}
impl Numeric for i64 {}
impl Numeric for u8 {}
impl Numeric for u16 {}
impl Numeric for u32 {}
impl Numeric for u64 {}
impl Numeric for f32 {}
impl Numeric for f64 {}
impl SignedElement for i8 {}
impl SignedElement for i16 {}
impl SignedElement for i32 {}
impl SignedElement for i64 {}
impl SignedElement for f32 {}
impl SignedElement for f64 {}
impl FloatElement for f32 {}
impl FloatElement for f64 {}

/// Run `$body` with `$T` bound to the Rust type of the `DType` value `$d`.
#[macro_export]
#[doc(hidden)]
macro_rules! dispatch_dtype {
    ($d:expr, $T:ident => $body:expr) => {
        match $d {
            $crate::DType::Bool => { #[allow(dead_code)] type $T = bool; $body }
            $crate::DType::I8 => { #[allow(dead_code)] type $T = i8; $body }
            $crate::DType::I16 => { #[allow(dead_code)] type $T = i16; $body }
            $crate::DType::I32 => { #[allow(dead_code)] type $T = i32; $body }
            $crate::DType::I64 => { #[allow(dead_code)] type $T = i64; $body }
            $crate::DType::U8 => { #[allow(dead_code)] type $T = u8; $body }
            $crate::DType::U16 => { #[allow(dead_code)] type $T = u16; $body }
            $crate::DType::U32 => { #[allow(dead_code)] type $T = u32; $body }
            $crate::DType::U64 => { #[allow(dead_code)] type $T = u64; $body }
            $crate::DType::F32 => { #[allow(dead_code)] type $T = f32; $body }
            $crate::DType::F64 => { #[allow(dead_code)] type $T = f64; $body }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn casts_follow_numpy_astype() {
        assert_eq!(Scalar::F64(-2.7).cast(DType::I32), Scalar::I32(-2));
        assert_eq!(Scalar::I64(300).cast(DType::U8), Scalar::U8(44));
        assert_eq!(Scalar::F64(0.5).cast(DType::Bool), Scalar::Bool(true));
        assert_eq!(Scalar::Bool(true).cast(DType::F32), Scalar::F32(1.0));
        assert_eq!(DType::U16.sum_dtype(), DType::U64);
        assert_eq!(DType::Bool.sum_dtype(), DType::I64);
        assert_eq!(DType::I8.float_dtype(), DType::F64);
        assert_eq!(DType::F32.float_dtype(), DType::F32);
    }
}
