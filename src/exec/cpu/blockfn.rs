//! The CPU form of user block functions (`map_blocks`, `blockwise`,
//! `map_overlap`): a callable over the assembled input blocks.

use super::chunk::Chunk;
use crate::error::Result;

/// What `expr::BlockFunc::func` holds for the CPU executor: the callable,
/// and the Rust name of the user's function (its type name) for errors.
pub struct CpuBlockFn(pub Box<dyn Fn(&[&Chunk]) -> Result<Chunk> + Send + Sync>, pub &'static str);
