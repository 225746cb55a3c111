//! The one error type of floe, grouped by the phase that reports it.

use std::fmt;

/// Everything that can go wrong in floe. Build-time errors (shapes, axes,
/// dtypes, chunks) are reported when the expression is built; planning errors
/// before anything runs; execution and storage errors while running.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// Incompatible or invalid shapes (broadcasting, concatenation, ...).
    Shape(String),
    /// An axis that the array does not have, or given twice.
    Axis { axis: isize, ndim: usize, what: String },
    /// A chunk specification that does not fit the shape.
    Chunks(String),
    /// An element type that does not fit the operation or the store.
    DType(String),
    /// An invalid argument value (step of zero, ...).
    Value(String),
    /// A reduction without identity over an empty axis (min, max, argmin, ...).
    EmptyReduction { op: String, shape: Vec<usize> },
    /// The plan cannot fit the configured memory limit.
    MemoryLimit { op: String, needed: u64, limit: u64 },
    /// A failure while running tasks.
    Execution(String),
    /// A failure reading or writing a store.
    Storage(String),
    /// A feature floe does not (yet) support.
    NotImplemented(String),
    /// A GPU failure: no driver or device, a kernel that does not compile,
    /// a failed launch or copy (feature `cuda`).
    Device(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Shape(m) => write!(f, "shape error: {m}"),
            Error::Axis { axis, ndim, what } => {
                write!(f, "axis error: {what}: axis {axis} for an array of {ndim} dimension(s)")
            }
            Error::Chunks(m) => write!(f, "chunk error: {m}"),
            Error::DType(m) => write!(f, "dtype error: {m}"),
            Error::Value(m) => write!(f, "invalid value: {m}"),
            Error::EmptyReduction { op, shape } => write!(
                f,
                "{op} of an empty reduction (array of shape {shape:?}): the operation has no identity"
            ),
            Error::MemoryLimit { op, needed, limit } => write!(
                f,
                "memory limit: task `{op}` needs {needed} bytes but the limit is {limit} bytes"
            ),
            Error::Execution(m) => write!(f, "execution error: {m}"),
            Error::Storage(m) => write!(f, "storage error: {m}"),
            Error::NotImplemented(m) => write!(f, "not implemented: {m}"),
            Error::Device(m) => write!(f, "device error: {m}"),
        }
    }
}

impl std::error::Error for Error {}

/// `Result<T, floe::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn axis_err(axis: isize, ndim: usize, what: &str) -> Error {
    Error::Axis { axis, ndim, what: what.to_string() }
}
