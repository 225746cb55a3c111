//! The fused elementwise `Program`: a small, closed, backend-neutral list of
//! instructions over numbered inputs, constants and registers. The CPU
//! executor interprets it over tiles; a GPU executor generates code from it.
//! Register `r` is the result of instruction `r`; the last instruction is the
//! program's output.

use std::fmt;

use crate::dtype::{DType, Scalar};

pub type Reg = u32;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Neg,
    Abs,
    Sqrt,
    Exp,
    Ln,
    Log10,
    Sin,
    Cos,
    Tan,
    Tanh,
    Floor,
    Ceil,
    /// Round half to even, as NumPy.
    Round,
    PowI(i32),
    IsNan,
    IsFinite,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    /// NaN-propagating maximum (NumPy `maximum`).
    Max,
    /// NaN-propagating minimum (NumPy `minimum`).
    Min,
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
    And,
    Or,
}

impl BinaryOp {
    pub fn is_comparison(self) -> bool {
        matches!(self, BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Eq | BinaryOp::Ne)
    }
    fn symbol(self) -> Option<&'static str> {
        Some(match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::And => "&",
            BinaryOp::Or => "|",
            _ => return None,
        })
    }
}

impl UnaryOp {
    /// Whether the op needs a float operand.
    pub fn float_only(self) -> bool {
        !matches!(self, UnaryOp::Neg | UnaryOp::Abs | UnaryOp::Not | UnaryOp::IsNan | UnaryOp::IsFinite)
    }
    fn name(self) -> String {
        match self {
            UnaryOp::PowI(n) => format!("powi[{n}]"),
            other => format!("{other:?}").to_lowercase(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Instr {
    /// Read input `i` (broadcast to the output block).
    Input(usize),
    Const(Scalar),
    Unary(UnaryOp, Reg),
    Binary(BinaryOp, Reg, Reg),
    Cast(DType, Reg),
    /// `cond ? a : b` elementwise.
    Where(Reg, Reg, Reg),
}

/// A fused elementwise computation. Build it with the constructors below;
/// they check operand types, so a built Program is well typed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Program {
    inputs: Vec<DType>,
    instrs: Vec<Instr>,
    dtypes: Vec<DType>,
}

impl Program {
    /// The identity program over one input.
    pub fn identity(dtype: DType) -> Program {
        let mut p = Program { inputs: vec![dtype], instrs: vec![], dtypes: vec![] };
        p.push(Instr::Input(0), dtype);
        p
    }
    /// A program with the given inputs and no instructions yet.
    pub fn with_inputs(inputs: Vec<DType>) -> Program {
        Program { inputs, instrs: vec![], dtypes: vec![] }
    }
    fn push(&mut self, i: Instr, d: DType) -> Reg {
        self.instrs.push(i);
        self.dtypes.push(d);
        (self.instrs.len() - 1) as Reg
    }
    pub fn input(&mut self, i: usize) -> Reg {
        let d = self.inputs[i];
        self.push(Instr::Input(i), d)
    }
    pub fn constant(&mut self, s: Scalar) -> Reg {
        self.push(Instr::Const(s), s.dtype())
    }
    pub fn unary(&mut self, op: UnaryOp, a: Reg) -> Reg {
        let d = self.dtypes[a as usize];
        let out = match op {
            UnaryOp::IsNan | UnaryOp::IsFinite => DType::Bool,
            _ => d,
        };
        self.push(Instr::Unary(op, a), out)
    }
    pub fn binary(&mut self, op: BinaryOp, a: Reg, b: Reg) -> Reg {
        debug_assert_eq!(self.dtypes[a as usize], self.dtypes[b as usize]);
        let out = if op.is_comparison() { DType::Bool } else { self.dtypes[a as usize] };
        self.push(Instr::Binary(op, a, b), out)
    }
    pub fn cast(&mut self, to: DType, a: Reg) -> Reg {
        if self.dtypes[a as usize] == to {
            return a;
        }
        self.push(Instr::Cast(to, a), to)
    }
    pub fn select(&mut self, c: Reg, a: Reg, b: Reg) -> Reg {
        let d = self.dtypes[a as usize];
        self.push(Instr::Where(c, a, b), d)
    }

    pub fn n_inputs(&self) -> usize {
        self.inputs.len()
    }
    pub fn input_dtypes(&self) -> &[DType] {
        &self.inputs
    }
    pub fn instrs(&self) -> &[Instr] {
        &self.instrs
    }
    pub fn reg_dtype(&self, r: Reg) -> DType {
        self.dtypes[r as usize]
    }
    pub fn output(&self) -> Reg {
        (self.instrs.len() - 1) as Reg
    }
    pub fn output_dtype(&self) -> DType {
        *self.dtypes.last().expect("a program has at least one instruction")
    }
    /// Whether this program only passes its single input through.
    pub fn is_identity(&self) -> bool {
        self.inputs.len() == 1 && self.instrs.len() == 1 && self.instrs[0] == Instr::Input(0)
    }
    /// Number of instructions that compute something (not loads or constants).
    pub fn n_ops(&self) -> usize {
        self.instrs.iter().filter(|i| !matches!(i, Instr::Input(_) | Instr::Const(_))).count()
    }

    /// Append `other`'s instructions to `self`, with `other`'s input `j`
    /// replaced by register `args[j]` of `self`; returns `other`'s output register.
    pub fn append(&mut self, other: &Program, args: &[Reg]) -> Reg {
        let mut map: Vec<Reg> = Vec::with_capacity(other.instrs.len());
        for (i, ins) in other.instrs.iter().enumerate() {
            let d = other.dtypes[i];
            let r = match ins {
                Instr::Input(j) => args[*j],
                Instr::Const(s) => self.push(Instr::Const(*s), d),
                Instr::Unary(op, a) => self.push(Instr::Unary(*op, map[*a as usize]), d),
                Instr::Binary(op, a, b) => {
                    self.push(Instr::Binary(*op, map[*a as usize], map[*b as usize]), d)
                }
                Instr::Cast(t, a) => self.push(Instr::Cast(*t, map[*a as usize]), d),
                Instr::Where(c, a, b) => {
                    self.push(Instr::Where(map[*c as usize], map[*a as usize], map[*b as usize]), d)
                }
            };
            map.push(r);
        }
        map[other.output() as usize]
    }

    /// Make `r` the output: moves nothing if it already is, else appends a
    /// no-op copy is not possible, so the program is rebuilt keeping only the
    /// instructions `r` depends on (dead code removed, duplicates merged).
    pub fn finish(&self, r: Reg) -> Program {
        let n = self.instrs.len();
        let mut live = vec![false; n];
        live[r as usize] = true;
        for i in (0..n).rev() {
            if !live[i] {
                continue;
            }
            match &self.instrs[i] {
                Instr::Unary(_, a) | Instr::Cast(_, a) => live[*a as usize] = true,
                Instr::Binary(_, a, b) => {
                    live[*a as usize] = true;
                    live[*b as usize] = true
                }
                Instr::Where(c, a, b) => {
                    live[*c as usize] = true;
                    live[*a as usize] = true;
                    live[*b as usize] = true
                }
                _ => {}
            }
        }
        let mut out = Program::with_inputs(self.inputs.clone());
        let mut map: Vec<Reg> = vec![0; n];
        let mut seen: std::collections::HashMap<Instr, Reg> = Default::default();
        for i in 0..=r as usize {
            if !live[i] {
                continue;
            }
            let ins = match &self.instrs[i] {
                Instr::Unary(op, a) => Instr::Unary(*op, map[*a as usize]),
                Instr::Binary(op, a, b) => Instr::Binary(*op, map[*a as usize], map[*b as usize]),
                Instr::Cast(t, a) => Instr::Cast(*t, map[*a as usize]),
                Instr::Where(c, a, b) => Instr::Where(map[*c as usize], map[*a as usize], map[*b as usize]),
                other => other.clone(),
            };
            map[i] = match seen.get(&ins) {
                Some(&reg) if i != r as usize => reg,
                _ => {
                    let reg = out.push(ins.clone(), self.dtypes[i]);
                    seen.insert(ins, reg);
                    reg
                }
            };
        }
        out
    }

    /// Replace input `k` by the program `inner` (whose inputs become new
    /// inputs of the result). `new_inputs` gives, for the result, the input
    /// index of each remaining input of `self` (`outer_map[i]`, unused for `k`)
    /// and of each input of `inner` (`inner_map[j]`); `n_new` is the total.
    pub fn inline(
        &self,
        k: usize,
        inner: &Program,
        outer_map: &[usize],
        inner_map: &[usize],
        new_dtypes: Vec<DType>,
    ) -> Program {
        let mut out = Program::with_inputs(new_dtypes);
        let inner_args: Vec<Reg> = inner_map.iter().map(|&j| out.input(j)).collect();
        let inner_out = out.append(inner, &inner_args);
        let outer_args: Vec<Reg> = (0..self.inputs.len())
            .map(|i| if i == k { inner_out } else { out.input(outer_map[i]) })
            .collect();
        let r = out.append(self, &outer_args);
        out.finish(r)
    }

    fn render(&self, r: Reg, out: &mut String) {
        match &self.instrs[r as usize] {
            Instr::Input(i) => out.push_str(&format!("in{i}")),
            Instr::Const(s) => out.push_str(&format!("{s}")),
            Instr::Unary(UnaryOp::Neg, a) => {
                out.push('-');
                self.render(*a, out)
            }
            Instr::Unary(op, a) => {
                out.push_str(&op.name());
                out.push('(');
                self.render(*a, out);
                out.push(')')
            }
            Instr::Binary(op, a, b) => match op.symbol() {
                Some(sym) => {
                    out.push('(');
                    self.render(*a, out);
                    out.push_str(&format!(" {sym} "));
                    self.render(*b, out);
                    out.push(')')
                }
                None => {
                    out.push_str(&format!("{op:?}").to_lowercase());
                    out.push('(');
                    self.render(*a, out);
                    out.push_str(", ");
                    self.render(*b, out);
                    out.push(')')
                }
            },
            Instr::Cast(t, a) => {
                out.push_str(&format!("{t}("));
                self.render(*a, out);
                out.push(')')
            }
            Instr::Where(c, a, b) => {
                out.push_str("where(");
                self.render(*c, out);
                out.push_str(", ");
                self.render(*a, out);
                out.push_str(", ");
                self.render(*b, out);
                out.push(')')
            }
        }
    }
}

impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        self.render(self.output(), &mut s);
        f.write_str(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scale(d: DType) -> Program {
        let mut p = Program::with_inputs(vec![d]);
        let a = p.input(0);
        let c = p.constant(Scalar::F64(2.0));
        let m = p.binary(BinaryOp::Mul, a, c);
        p.finish(m)
    }

    #[test]
    fn inline_composes_and_renders() {
        // outer: sin(in0 + in1); inner: in0 * 2 replaces outer input 0
        let mut outer = Program::with_inputs(vec![DType::F64, DType::F64]);
        let a = outer.input(0);
        let b = outer.input(1);
        let s = outer.binary(BinaryOp::Add, a, b);
        let r = outer.unary(UnaryOp::Sin, s);
        let outer = outer.finish(r);
        let fused = outer.inline(0, &scale(DType::F64), &[usize::MAX, 1], &[0], vec![DType::F64, DType::F64]);
        assert_eq!(fused.to_string(), "sin(((in0 * 2.0) + in1))");
        assert_eq!(fused.n_inputs(), 2);
        assert_eq!(fused.n_ops(), 3);
    }

    #[test]
    fn finish_merges_duplicates_and_drops_dead_code() {
        let mut p = Program::with_inputs(vec![DType::F64]);
        let a = p.input(0);
        let a2 = p.input(0);
        let _dead = p.unary(UnaryOp::Exp, a);
        let m = p.binary(BinaryOp::Mul, a, a2);
        let p = p.finish(m);
        assert_eq!(p.instrs().len(), 2);
        assert_eq!(p.to_string(), "(in0 * in0)");
        // finishing twice changes nothing
        assert_eq!(p.finish(p.output()), p);
    }

    #[test]
    fn comparison_and_predicates_are_bool() {
        let mut p = Program::with_inputs(vec![DType::F32]);
        let a = p.input(0);
        let n = p.unary(UnaryOp::IsNan, a);
        assert_eq!(p.reg_dtype(n), DType::Bool);
        let g = p.binary(BinaryOp::Gt, a, a);
        assert_eq!(p.reg_dtype(g), DType::Bool);
        assert!(Program::identity(DType::I8).is_identity());
    }
}
