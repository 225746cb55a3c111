//! `std::ops` operators: `&a + &b`, owned operands, scalars on either side,
//! unary minus. Incompatible shapes panic with the broadcast error, as
//! ndarray's operators do; `try_add` and friends return it instead.

use std::ops::{Add, Div, Mul, Neg, Sub};

use super::Array;
use crate::dtype::Numeric;
use crate::expr::BinaryOp;

fn unwrap<T: Numeric>(r: crate::Result<Array<T>>) -> Array<T> {
    match r {
        Ok(a) => a,
        Err(e) => panic!("{e}"),
    }
}

macro_rules! binop {
    ($tr:ident, $m:ident, $op:expr) => {
        impl<T: Numeric> $tr<&Array<T>> for &Array<T> {
            type Output = Array<T>;
            fn $m(self, rhs: &Array<T>) -> Array<T> {
                unwrap(self.binary_swapped(rhs, $op, false))
            }
        }
        impl<T: Numeric> $tr<Array<T>> for &Array<T> {
            type Output = Array<T>;
            fn $m(self, rhs: Array<T>) -> Array<T> {
                unwrap(self.binary_swapped(rhs, $op, false))
            }
        }
        impl<T: Numeric> $tr<&Array<T>> for Array<T> {
            type Output = Array<T>;
            fn $m(self, rhs: &Array<T>) -> Array<T> {
                unwrap(self.binary_swapped(rhs, $op, false))
            }
        }
        impl<T: Numeric> $tr<Array<T>> for Array<T> {
            type Output = Array<T>;
            fn $m(self, rhs: Array<T>) -> Array<T> {
                unwrap(self.binary_swapped(rhs, $op, false))
            }
        }
        impl<T: Numeric> $tr<T> for &Array<T> {
            type Output = Array<T>;
            fn $m(self, rhs: T) -> Array<T> {
                unwrap(self.binary_swapped(rhs, $op, false))
            }
        }
        impl<T: Numeric> $tr<T> for Array<T> {
            type Output = Array<T>;
            fn $m(self, rhs: T) -> Array<T> {
                unwrap(self.binary_swapped(rhs, $op, false))
            }
        }
    };
}
binop!(Add, add, BinaryOp::Add);
binop!(Sub, sub, BinaryOp::Sub);
binop!(Mul, mul, BinaryOp::Mul);
binop!(Div, div, BinaryOp::Div);

macro_rules! scalar_lhs {
    ($($t:ty),*) => {$(
        impl Add<&Array<$t>> for $t { type Output = Array<$t>; fn add(self, rhs: &Array<$t>) -> Array<$t> { unwrap(rhs.binary_swapped(self, BinaryOp::Add, true)) } }
        impl Add<Array<$t>> for $t { type Output = Array<$t>; fn add(self, rhs: Array<$t>) -> Array<$t> { unwrap(rhs.binary_swapped(self, BinaryOp::Add, true)) } }
        impl Sub<&Array<$t>> for $t { type Output = Array<$t>; fn sub(self, rhs: &Array<$t>) -> Array<$t> { unwrap(rhs.binary_swapped(self, BinaryOp::Sub, true)) } }
        impl Sub<Array<$t>> for $t { type Output = Array<$t>; fn sub(self, rhs: Array<$t>) -> Array<$t> { unwrap(rhs.binary_swapped(self, BinaryOp::Sub, true)) } }
        impl Mul<&Array<$t>> for $t { type Output = Array<$t>; fn mul(self, rhs: &Array<$t>) -> Array<$t> { unwrap(rhs.binary_swapped(self, BinaryOp::Mul, true)) } }
        impl Mul<Array<$t>> for $t { type Output = Array<$t>; fn mul(self, rhs: Array<$t>) -> Array<$t> { unwrap(rhs.binary_swapped(self, BinaryOp::Mul, true)) } }
        impl Div<&Array<$t>> for $t { type Output = Array<$t>; fn div(self, rhs: &Array<$t>) -> Array<$t> { unwrap(rhs.binary_swapped(self, BinaryOp::Div, true)) } }
        impl Div<Array<$t>> for $t { type Output = Array<$t>; fn div(self, rhs: Array<$t>) -> Array<$t> { unwrap(rhs.binary_swapped(self, BinaryOp::Div, true)) } }
    )*};
}
scalar_lhs!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);

impl<T: Numeric> Neg for &Array<T> {
    type Output = Array<T>;
    fn neg(self) -> Array<T> {
        self.neg_op()
    }
}
impl<T: Numeric> Neg for Array<T> {
    type Output = Array<T>;
    fn neg(self) -> Array<T> {
        self.neg_op()
    }
}
