//! Reading Zarr v2 and v3 arrays (through `zarrs`): opening, the element
//! type check, the block grid floe uses, and block reads that decode only
//! the stored chunks a block overlaps.

use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ndarray::{ArrayD, IxDyn};
use zarrs::array::{Array as ZArray, ArrayShardedExt, ArraySubset, CodecOptions, ElementOwned};
use zarrs::filesystem::FilesystemStore;
use zarrs::plugin::{ExtensionName, ZarrVersion};

use crate::chunks::{regular, Chunks};
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::expr::StoredArray;

/// Name of the extra metadata field that marks a `to_zarr` still in progress
/// (or interrupted). `must_understand: true` makes Zarr readers refuse the array.
pub const IN_PROGRESS: &str = "floe_write_in_progress";

/// Shards bigger than this are read by their inner chunks instead.
const MAX_SHARD_BLOCK: u64 = 128 << 20;

/// One Zarr array opened for reading.
pub struct ZarrArray {
    path: PathBuf,
    /// `path` made absolute with links resolved: the store's identity.
    canonical: PathBuf,
    /// Bytes of the largest stored unit a block read decodes.
    decode_bytes: u64,
    label: String,
    array: ZArray<FilesystemStore>,
    shape: Vec<usize>,
    dtype: DType,
    chunks: Chunks,
    /// Stored chunks decoded by block reads so far (for tests and stats).
    chunk_reads: AtomicU64,
    opts: CodecOptions,
}

impl std::fmt::Debug for ZarrArray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ZarrArray({})", self.path.display())
    }
}

pub(crate) fn storage_err(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::Storage(format!("{}: {what}", path.display()))
}

/// The floe element type of a Zarr data type name (v3 names).
pub fn dtype_of_name(name: &str) -> Option<DType> {
    Some(match name {
        "bool" => DType::Bool,
        "int8" => DType::I8,
        "int16" => DType::I16,
        "int32" => DType::I32,
        "int64" => DType::I64,
        "uint8" => DType::U8,
        "uint16" => DType::U16,
        "uint32" => DType::U32,
        "uint64" => DType::U64,
        "float32" => DType::F32,
        "float64" => DType::F64,
        _ => return None,
    })
}

/// The parsed `zarr.json` of a v3 node, if there is one that parses (an
/// unparsable one is left for zarrs to report).
fn v3_metadata(path: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(path.join("zarr.json")).ok()?;
    serde_json::from_str(&text).ok()
}

impl ZarrArray {
    /// Open the Zarr array at `path` (a directory holding `zarr.json` or `.zarray`).
    pub fn open(path: &Path) -> Result<ZarrArray> {
        if !path.exists() {
            return Err(storage_err(path, "no such file or directory"));
        }
        let v3 = v3_metadata(path);
        let v3_group = v3.as_ref().and_then(|m| m.get("node_type")).and_then(|n| n.as_str()) == Some("group");
        let v2_group = path.join(".zgroup").is_file() && !path.join(".zarray").is_file();
        if v3_group || v2_group {
            return Err(storage_err(path, "is a Zarr group, not an array: open one of its arrays"));
        }
        if !path.join("zarr.json").is_file() && !path.join(".zarray").is_file() {
            return Err(storage_err(path, "is not a Zarr array (no zarr.json or .zarray)"));
        }
        if v3.as_ref().and_then(|m| m.get(IN_PROGRESS)).is_some() {
            return Err(storage_err(
                path,
                "this array is an unfinished floe write (interrupted or still running); \
                 finish it with ZarrWriteOptions::resume(true) or write it again with overwrite(true)",
            ));
        }
        let store = Arc::new(FilesystemStore::new(path).map_err(|e| storage_err(path, e))?);
        let array = ZArray::open(store, "/").map_err(|e| storage_err(path, e))?;
        let name = array.data_type().name(ZarrVersion::V3).map(|c| c.to_string()).unwrap_or_default();
        let dtype = dtype_of_name(&name).ok_or_else(|| {
            Error::DType(format!(
                "{}: data type {} is not supported by floe (bool, int8..int64, uint8..uint64, float32, float64)",
                path.display(),
                array.data_type()
            ))
        })?;
        let shape: Vec<usize> = array.shape().iter().map(|&s| s as usize).collect();
        let (chunks, decode_bytes) = block_grid(&array, &shape, dtype).map_err(|e| storage_err(path, e))?;
        let canonical = std::fs::canonicalize(path).map_err(|e| storage_err(path, e))?;
        Ok(ZarrArray {
            label: format!("zarr:{}", path.display()),
            path: path.to_path_buf(),
            canonical,
            decode_bytes,
            array,
            shape,
            dtype,
            chunks,
            chunk_reads: AtomicU64::new(0),
            opts: CodecOptions::default().with_concurrent_target(1),
        })
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
    pub fn dtype(&self) -> DType {
        self.dtype
    }
    /// The blocks floe reads: the stored chunks (for a sharded array, the
    /// shards, or their inner chunks when a shard exceeds 128 MiB).
    pub fn chunks(&self) -> &Chunks {
        &self.chunks
    }
    /// Stored chunks (or shards) decoded so far by block reads.
    pub fn chunk_reads(&self) -> u64 {
        self.chunk_reads.load(Ordering::Relaxed)
    }
    /// The zarrs array (metadata, codecs) for tools such as `floe info`.
    pub fn zarrs(&self) -> &ZArray<FilesystemStore> {
        &self.array
    }

    /// Read the region `start .. start + shape` as an array of `T`.
    pub fn read<T: ElementOwned + Default + Clone>(&self, start: &[usize], shape: &[usize]) -> Result<ArrayD<T>> {
        if shape.iter().any(|&s| s == 0) {
            return Ok(ArrayD::from_elem(IxDyn(shape), T::default()));
        }
        let ranges: Vec<std::ops::Range<u64>> =
            start.iter().zip(shape).map(|(&s, &n)| s as u64..(s + n) as u64).collect();
        let subset = ArraySubset::new_with_ranges(&ranges);
        if let Ok(Some(c)) = self.array.chunks_in_array_subset(&subset) {
            self.chunk_reads.fetch_add(c.num_elements(), Ordering::Relaxed);
        }
        let a: ArrayD<T> = self
            .array
            .retrieve_array_subset_opt(&subset, &self.opts)
            .map_err(|e| storage_err(&self.path, format!("reading {ranges:?}: {e}")))?;
        if a.shape() != shape {
            return a
                .into_shape_with_order(IxDyn(shape))
                .map_err(|e| storage_err(&self.path, format!("reading {ranges:?}: unexpected shape: {e}")));
        }
        Ok(a)
    }
}

/// floe blocks of a stored array: its chunk grid clipped to the shape; and
/// the bytes of the stored unit a block read decodes whole (the chunk, not
/// clipped: a chunk may reach far past the array's edge).
fn block_grid(array: &ZArray<FilesystemStore>, shape: &[usize], dtype: DType) -> std::result::Result<(Chunks, u64), String> {
    let nd = shape.len();
    let zero = vec![0u64; nd];
    let outer: Vec<usize> = if nd == 0 {
        vec![]
    } else {
        array.chunk_shape(&zero).map_err(|e| e.to_string())?.iter().map(|c| c.get() as usize).collect()
    };
    let bytes_of = |c: &[usize]| c.iter().fold(dtype.size() as u64, |a, &v| a.saturating_mul(v as u64));
    let block_bytes = bytes_of(&outer);
    let (sizes, decode): (Vec<Vec<usize>>, u64) = if array.is_sharded() && block_bytes > MAX_SHARD_BLOCK {
        match array.effective_subchunk_shape() {
            Some(inner) => {
                let inner: Vec<usize> = inner.iter().map(|c| c.get() as usize).collect();
                (shape.iter().zip(&inner).map(|(&l, &c)| regular(l, c.max(1))).collect(), bytes_of(&inner))
            }
            None => (per_axis(array, shape)?, block_bytes),
        }
    } else {
        (per_axis(array, shape)?, block_bytes)
    };
    // an empty array reads nothing
    let decode = if shape.contains(&0) { 0 } else { decode };
    Ok((Chunks::new(shape, sizes).map_err(|e| e.to_string())?, decode))
}

/// Chunk sizes along each axis from the chunk grid (regular or rectangular).
fn per_axis(array: &ZArray<FilesystemStore>, shape: &[usize]) -> std::result::Result<Vec<Vec<usize>>, String> {
    let nd = shape.len();
    let mut out = Vec::with_capacity(nd);
    for (k, &len) in shape.iter().enumerate() {
        let mut sizes = Vec::new();
        let mut at = 0usize;
        let mut i = 0u64;
        while at < len {
            let mut idx = vec![0u64; nd];
            idx[k] = i;
            let sub = array.chunk_subset(&idx).map_err(|e| e.to_string())?;
            let n = (sub.shape()[k] as usize).min(len - at);
            if n == 0 {
                return Err(format!("empty chunk {i} along axis {k}"));
            }
            sizes.push(n);
            at += n;
            i += 1;
        }
        if sizes.is_empty() {
            sizes.push(0);
        }
        out.push(sizes);
    }
    Ok(out)
}

impl StoredArray for ZarrArray {
    fn describe(&self) -> String {
        self.label.clone()
    }
    fn stored_shape(&self) -> &[usize] {
        &self.shape
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn decode_bytes(&self) -> u64 {
        self.decode_bytes
    }
    fn same_array(&self, other: &dyn StoredArray) -> bool {
        other.as_any().downcast_ref::<ZarrArray>().is_some_and(|o| {
            o.canonical == self.canonical && o.array.metadata() == self.array.metadata()
        })
    }
}
