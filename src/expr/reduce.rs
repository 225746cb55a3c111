//! Reductions and scans as plain data: which one, over which axes, and the
//! element type of the result.

use crate::dtype::DType;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceKind {
    Sum,
    Prod,
    Mean,
    Var,
    Std,
    Min,
    Max,
    ArgMin,
    ArgMax,
    Any,
    All,
    NanSum,
    NanMean,
    NanVar,
    NanStd,
    NanMin,
    NanMax,
}

impl ReduceKind {
    /// The element type of the result for input type `d`.
    pub fn out_dtype(self, d: DType) -> DType {
        use ReduceKind::*;
        match self {
            Sum | Prod | NanSum => d.sum_dtype(),
            Mean | Var | Std | NanMean | NanVar | NanStd => d.float_dtype(),
            Min | Max | NanMin | NanMax => d,
            ArgMin | ArgMax => DType::I64,
            Any | All => DType::Bool,
        }
    }
    /// Reductions without an identity: an empty reduction is an error.
    pub fn needs_nonempty(self) -> bool {
        use ReduceKind::*;
        matches!(self, Min | Max | NanMin | NanMax | ArgMin | ArgMax)
    }
    /// Whether the reduction uses `ddof`.
    pub fn uses_ddof(self) -> bool {
        use ReduceKind::*;
        matches!(self, Var | Std | NanVar | NanStd)
    }
    pub fn name(self) -> &'static str {
        use ReduceKind::*;
        match self {
            Sum => "sum",
            Prod => "prod",
            Mean => "mean",
            Var => "var",
            Std => "std",
            Min => "min",
            Max => "max",
            ArgMin => "argmin",
            ArgMax => "argmax",
            Any => "any",
            All => "all",
            NanSum => "nansum",
            NanMean => "nanmean",
            NanVar => "nanvar",
            NanStd => "nanstd",
            NanMin => "nanmin",
            NanMax => "nanmax",
        }
    }
}

/// A reduction over sorted, distinct `axes` of the input.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReduceSpec {
    pub kind: ReduceKind,
    pub axes: Vec<usize>,
    pub keepdims: bool,
    pub ddof: usize,
}

impl ReduceSpec {
    pub fn describe(&self) -> String {
        let mut s = format!("{}(axes={:?}", self.kind.name(), self.axes);
        if self.keepdims {
            s.push_str(", keepdims");
        }
        if self.kind.uses_ddof() {
            s.push_str(&format!(", ddof={}", self.ddof));
        }
        s.push(')');
        s
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScanKind {
    CumSum,
    CumProd,
}

impl ScanKind {
    pub fn name(self) -> &'static str {
        match self {
            ScanKind::CumSum => "cumsum",
            ScanKind::CumProd => "cumprod",
        }
    }
}
