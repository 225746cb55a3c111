//! Elementwise operations: arithmetic, math functions, comparisons, casts and
//! `where_`. Each builds a one-instruction Program over its operands; the
//! optimizer fuses chains of them.

use super::Array;
use crate::dtype::{Element, FloatElement, Numeric, Scalar, SignedElement};
use crate::error::{Error, Result};
use crate::expr::{build, BinaryOp, NodeRef, Program, Reg, UnaryOp};

/// An array or a scalar, where an operation accepts either.
#[derive(Clone, Debug)]
pub enum Operand<T: Element> {
    Array(Array<T>),
    Scalar(T),
}

impl<T: Element> From<&Array<T>> for Operand<T> {
    fn from(a: &Array<T>) -> Self {
        Operand::Array(a.clone())
    }
}
impl<T: Element> From<Array<T>> for Operand<T> {
    fn from(a: Array<T>) -> Self {
        Operand::Array(a)
    }
}
impl<T: Element> From<T> for Operand<T> {
    fn from(v: T) -> Self {
        Operand::Scalar(v)
    }
}

/// An operand with its type erased.
pub(crate) enum Arg {
    Node(NodeRef),
    Scalar(Scalar),
}

impl<T: Element> From<Operand<T>> for Arg {
    fn from(o: Operand<T>) -> Arg {
        match o {
            Operand::Array(a) => Arg::Node(a.node().clone()),
            Operand::Scalar(s) => Arg::Scalar(s.to_scalar()),
        }
    }
}

/// Build an elementwise array: `f` gets a program with one register per argument.
pub(crate) fn elementwise<U: Element>(args: Vec<Arg>, f: impl FnOnce(&mut Program, &[Reg]) -> Reg) -> Result<Array<U>> {
    let nodes: Vec<NodeRef> = args
        .iter()
        .filter_map(|a| match a {
            Arg::Node(n) => Some(n.clone()),
            Arg::Scalar(_) => None,
        })
        .collect();
    if nodes.is_empty() {
        return Err(Error::Value("an elementwise operation needs at least one array operand".into()));
    }
    let mut p = Program::with_inputs(nodes.iter().map(|n| n.dtype).collect());
    let mut k = 0;
    let regs: Vec<Reg> = args
        .iter()
        .map(|a| match a {
            Arg::Node(_) => {
                k += 1;
                p.input(k - 1)
            }
            Arg::Scalar(s) => p.constant(*s),
        })
        .collect();
    let r = f(&mut p, &regs);
    let prog = p.finish(r);
    debug_assert_eq!(prog.output_dtype(), U::DTYPE);
    Ok(Array::from_node(build::map(prog, nodes)?))
}

impl<T: Element> Array<T> {
    pub(crate) fn arg(&self) -> Arg {
        Arg::Node(self.node().clone())
    }
    fn unary(&self, op: UnaryOp) -> Array<T> {
        elementwise(vec![self.arg()], |p, r| p.unary(op, r[0])).expect("a unary op on one array cannot fail")
    }
    fn binary<U: Element>(&self, other: impl Into<Operand<T>>, op: BinaryOp) -> Result<Array<U>> {
        elementwise(vec![self.arg(), other.into().into()], |p, r| p.binary(op, r[0], r[1]))
    }
    /// `self op other` with the operands possibly swapped (scalar on the left).
    pub(crate) fn binary_swapped(&self, other: impl Into<Operand<T>>, op: BinaryOp, swap: bool) -> Result<Array<T>> {
        let (a, b) = if swap { (other.into().into(), self.arg()) } else { (self.arg(), other.into().into()) };
        elementwise(vec![a, b], |p, r| p.binary(op, r[0], r[1]))
    }

    /// Elementwise maximum (NaN propagates, as NumPy's `maximum`).
    pub fn maximum(&self, b: impl Into<Operand<T>>) -> Result<Array<T>> {
        self.binary(b, BinaryOp::Max)
    }
    /// Elementwise minimum (NaN propagates).
    pub fn minimum(&self, b: impl Into<Operand<T>>) -> Result<Array<T>> {
        self.binary(b, BinaryOp::Min)
    }
    /// Values limited to [lo, hi].
    pub fn clip(&self, lo: T, hi: T) -> Array<T> {
        elementwise(vec![self.arg(), Arg::Scalar(lo.to_scalar()), Arg::Scalar(hi.to_scalar())], |p, r| {
            let m = p.binary(BinaryOp::Max, r[0], r[1]);
            p.binary(BinaryOp::Min, m, r[2])
        })
        .expect("clip of one array cannot fail")
    }
    pub fn greater(&self, b: impl Into<Operand<T>>) -> Result<Array<bool>> {
        self.binary(b, BinaryOp::Gt)
    }
    pub fn greater_equal(&self, b: impl Into<Operand<T>>) -> Result<Array<bool>> {
        self.binary(b, BinaryOp::Ge)
    }
    pub fn less(&self, b: impl Into<Operand<T>>) -> Result<Array<bool>> {
        self.binary(b, BinaryOp::Lt)
    }
    pub fn less_equal(&self, b: impl Into<Operand<T>>) -> Result<Array<bool>> {
        self.binary(b, BinaryOp::Le)
    }
    pub fn equal(&self, b: impl Into<Operand<T>>) -> Result<Array<bool>> {
        self.binary(b, BinaryOp::Eq)
    }
    pub fn not_equal(&self, b: impl Into<Operand<T>>) -> Result<Array<bool>> {
        self.binary(b, BinaryOp::Ne)
    }
    /// True where the value is NaN (always false for integers and bool).
    pub fn isnan(&self) -> Array<bool> {
        elementwise(vec![self.arg()], |p, r| p.unary(UnaryOp::IsNan, r[0])).expect("isnan cannot fail")
    }
    /// True where the value is neither NaN nor infinite.
    pub fn isfinite(&self) -> Array<bool> {
        elementwise(vec![self.arg()], |p, r| p.unary(UnaryOp::IsFinite, r[0])).expect("isfinite cannot fail")
    }
    /// Convert the elements to `U`, as NumPy's `astype` (float → int truncates toward zero).
    pub fn cast<U: Element>(&self) -> Array<U> {
        if T::DTYPE == U::DTYPE {
            return Array::from_node(self.node().clone());
        }
        elementwise(vec![self.arg()], |p, r| p.cast(U::DTYPE, r[0])).expect("cast cannot fail")
    }
}

impl<T: Numeric> Array<T> {
    pub fn try_add(&self, b: impl Into<Operand<T>>) -> Result<Array<T>> {
        self.binary(b, BinaryOp::Add)
    }
    pub fn try_sub(&self, b: impl Into<Operand<T>>) -> Result<Array<T>> {
        self.binary(b, BinaryOp::Sub)
    }
    pub fn try_mul(&self, b: impl Into<Operand<T>>) -> Result<Array<T>> {
        self.binary(b, BinaryOp::Mul)
    }
    /// Division; for integers it truncates toward zero and `x / 0` is 0.
    pub fn try_div(&self, b: impl Into<Operand<T>>) -> Result<Array<T>> {
        self.binary(b, BinaryOp::Div)
    }
    pub(crate) fn neg_op(&self) -> Array<T> {
        self.unary(UnaryOp::Neg)
    }
}

impl<T: SignedElement> Array<T> {
    /// Absolute value (wrapping for the most negative integer, as NumPy).
    pub fn abs(&self) -> Array<T> {
        self.unary(UnaryOp::Abs)
    }
}

impl<T: FloatElement> Array<T> {
    pub fn sqrt(&self) -> Array<T> {
        self.unary(UnaryOp::Sqrt)
    }
    pub fn exp(&self) -> Array<T> {
        self.unary(UnaryOp::Exp)
    }
    /// Natural logarithm.
    pub fn ln(&self) -> Array<T> {
        self.unary(UnaryOp::Ln)
    }
    pub fn log10(&self) -> Array<T> {
        self.unary(UnaryOp::Log10)
    }
    pub fn sin(&self) -> Array<T> {
        self.unary(UnaryOp::Sin)
    }
    pub fn cos(&self) -> Array<T> {
        self.unary(UnaryOp::Cos)
    }
    pub fn tan(&self) -> Array<T> {
        self.unary(UnaryOp::Tan)
    }
    pub fn tanh(&self) -> Array<T> {
        self.unary(UnaryOp::Tanh)
    }
    pub fn floor(&self) -> Array<T> {
        self.unary(UnaryOp::Floor)
    }
    pub fn ceil(&self) -> Array<T> {
        self.unary(UnaryOp::Ceil)
    }
    /// Round half to even, as NumPy.
    pub fn round(&self) -> Array<T> {
        self.unary(UnaryOp::Round)
    }
    pub fn powi(&self, n: i32) -> Array<T> {
        self.unary(UnaryOp::PowI(n))
    }
    pub fn powf(&self, p: T) -> Array<T> {
        self.binary(p, BinaryOp::Pow).expect("powf with a scalar cannot fail")
    }
}

/// Elementwise `cond ? a : b`, broadcasting all three.
pub fn where_<T: Element>(cond: &Array<bool>, a: impl Into<Operand<T>>, b: impl Into<Operand<T>>) -> Result<Array<T>> {
    let (a, b): (Operand<T>, Operand<T>) = (a.into(), b.into());
    elementwise(vec![cond.arg(), a.into(), b.into()], |p, r| p.select(r[0], r[1], r[2]))
}
