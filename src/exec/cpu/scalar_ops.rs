//! Per-element arithmetic with floe's semantics, one impl per element type:
//! integers wrap, integer division truncates and `x / 0 == 0`, min/max
//! propagate NaN, rounding is half to even.

pub trait Arith: Copy + PartialOrd + Send + Sync + 'static {
    fn add(a: Self, b: Self) -> Self;
    fn sub(a: Self, b: Self) -> Self;
    fn mul(a: Self, b: Self) -> Self;
    fn div(a: Self, b: Self) -> Self;
    fn neg(a: Self) -> Self;
    fn abs(a: Self) -> Self;
    fn pow(a: Self, b: Self) -> Self;
    fn is_nan(a: Self) -> bool;
    /// NaN-propagating maximum.
    #[inline(always)]
    fn maxn(a: Self, b: Self) -> Self {
        if Self::is_nan(a) || a > b {
            a
        } else if Self::is_nan(b) {
            b
        } else if a < b {
            b
        } else {
            a
        }
    }
    /// NaN-propagating minimum.
    #[inline(always)]
    fn minn(a: Self, b: Self) -> Self {
        if Self::is_nan(a) || a < b {
            a
        } else if Self::is_nan(b) {
            b
        } else if a > b {
            b
        } else {
            a
        }
    }
}

macro_rules! int_arith {
    ($abs:ident: $($t:ty),*) => {$(
        impl Arith for $t {
            #[inline(always)] fn add(a: Self, b: Self) -> Self { a.wrapping_add(b) }
            #[inline(always)] fn sub(a: Self, b: Self) -> Self { a.wrapping_sub(b) }
            #[inline(always)] fn mul(a: Self, b: Self) -> Self { a.wrapping_mul(b) }
            #[inline(always)] fn div(a: Self, b: Self) -> Self { if b == 0 { 0 } else { a.wrapping_div(b) } }
            #[inline(always)] fn neg(a: Self) -> Self { (0 as $t).wrapping_sub(a) }
            #[inline(always)] fn abs(a: Self) -> Self { int_arith!(@$abs a) }
            #[inline(always)] fn pow(a: Self, b: Self) -> Self { a.wrapping_pow(b as u32) }
            #[inline(always)] fn is_nan(_a: Self) -> bool { false }
            #[inline(always)] fn maxn(a: Self, b: Self) -> Self { if a > b { a } else { b } }
            #[inline(always)] fn minn(a: Self, b: Self) -> Self { if a < b { a } else { b } }
        }
    )*};
    (@signed $a:expr) => { $a.wrapping_abs() };
    (@unsigned $a:expr) => { $a };
}
int_arith!(signed: i8, i16, i32, i64);
int_arith!(unsigned: u8, u16, u32, u64);

macro_rules! float_arith {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            #[inline(always)] fn add(a: Self, b: Self) -> Self { a + b }
            #[inline(always)] fn sub(a: Self, b: Self) -> Self { a - b }
            #[inline(always)] fn mul(a: Self, b: Self) -> Self { a * b }
            #[inline(always)] fn div(a: Self, b: Self) -> Self { a / b }
            #[inline(always)] fn neg(a: Self) -> Self { -a }
            #[inline(always)] fn abs(a: Self) -> Self { a.abs() }
            #[inline(always)] fn pow(a: Self, b: Self) -> Self { a.powf(b) }
            #[inline(always)] fn is_nan(a: Self) -> bool { a.is_nan() }
            #[inline(always)] fn maxn(a: Self, b: Self) -> Self { if a.is_nan() || a > b { a } else if b.is_nan() || b > a { b } else { a } }
            #[inline(always)] fn minn(a: Self, b: Self) -> Self { if a.is_nan() || a < b { a } else if b.is_nan() || b < a { b } else { a } }
        }
    )*};
}
float_arith!(f32, f64);

use super::vmath::{self, VecFn};

/// The float-only functions.
pub trait FloatFns: Arith {
    fn sqrt(a: Self) -> Self;
    fn exp(a: Self) -> Self;
    fn ln(a: Self) -> Self;
    fn log10(a: Self) -> Self;
    fn sin(a: Self) -> Self;
    fn cos(a: Self) -> Self;
    fn tan(a: Self) -> Self;
    fn tanh(a: Self) -> Self;
    fn floor(a: Self) -> Self;
    fn ceil(a: Self) -> Self;
    fn round(a: Self) -> Self;
    fn powi(a: Self, n: i32) -> Self;
    fn is_finite(a: Self) -> bool;
    /// `o[i] = f(a[i])` over a whole tile with the vectorized functions of
    /// `vmath` (sin, cos, exp, ln: within 2 ulp of libm in f64).
    fn vec_fn(f: VecFn, a: &[Self], o: &mut [Self]);
}

macro_rules! float_fns {
    ($($t:ty: $eval:ident),*) => {$(
        impl FloatFns for $t {
            #[inline(always)] fn sqrt(a: Self) -> Self { a.sqrt() }
            #[inline(always)] fn exp(a: Self) -> Self { a.exp() }
            #[inline(always)] fn ln(a: Self) -> Self { a.ln() }
            #[inline(always)] fn log10(a: Self) -> Self { a.log10() }
            #[inline(always)] fn sin(a: Self) -> Self { a.sin() }
            #[inline(always)] fn cos(a: Self) -> Self { a.cos() }
            #[inline(always)] fn tan(a: Self) -> Self { a.tan() }
            #[inline(always)] fn tanh(a: Self) -> Self { a.tanh() }
            #[inline(always)] fn floor(a: Self) -> Self { a.floor() }
            #[inline(always)] fn ceil(a: Self) -> Self { a.ceil() }
            #[inline(always)] fn round(a: Self) -> Self { a.round_ties_even() }
            #[inline(always)] fn powi(a: Self, n: i32) -> Self { a.powi(n) }
            #[inline(always)] fn is_finite(a: Self) -> bool { a.is_finite() }
            #[inline(always)] fn vec_fn(f: VecFn, a: &[Self], o: &mut [Self]) { vmath::$eval(f, a, o) }
        }
    )*};
}
float_fns!(f32: eval_f32, f64: eval_f64);

/// Run `$body` with `$T` bound to the numeric Rust type of `$d`; bool runs `$other`.
#[macro_export]
#[doc(hidden)]
macro_rules! dispatch_numeric {
    ($d:expr, $T:ident => $body:expr, _ => $other:expr) => {
        match $d {
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
            $crate::DType::Bool => $other,
        }
    };
}

/// Run `$body` with `$T` bound to f32 or f64; other types run `$other`.
#[macro_export]
#[doc(hidden)]
macro_rules! dispatch_float {
    ($d:expr, $T:ident => $body:expr, _ => $other:expr) => {
        match $d {
            $crate::DType::F32 => { #[allow(dead_code)] type $T = f32; $body }
            $crate::DType::F64 => { #[allow(dead_code)] type $T = f64; $body }
            _ => $other,
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn semantics() {
        assert_eq!(<i32 as Arith>::div(7, 0), 0);
        assert_eq!(<i32 as Arith>::div(-7, 2), -3);
        assert_eq!(<i8 as Arith>::div(i8::MIN, -1), i8::MIN);
        assert_eq!(<u8 as Arith>::add(250, 10), 4);
        assert_eq!(<i8 as Arith>::abs(i8::MIN), i8::MIN);
        assert!(<f64 as Arith>::maxn(f64::NAN, 1.0).is_nan());
        assert!(<f64 as Arith>::minn(1.0, f64::NAN).is_nan());
        assert_eq!(<f64 as FloatFns>::round(2.5), 2.0);
        assert_eq!(<f64 as FloatFns>::round(-3.5), -4.0);
    }
}
