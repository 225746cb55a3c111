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
    /// `path` canonicalized when opened: the store's identity on disk.
    location: PathBuf,
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
        let (chunks, decode_bytes) = block_grid(path, &array, &shape, dtype)?;
        Ok(ZarrArray {
            label: format!("zarr:{}", path.display()),
            location: path.canonicalize().map_err(|e| storage_err(path, e))?,
            path: path.to_path_buf(),
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
    /// The canonical path of the store (links, `.` and `..` resolved), taken
    /// when it was opened: compare these to tell whether two stores overlap.
    pub fn location(&self) -> &Path {
        &self.location
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
        let stored = self.array.chunks_in_array_subset(&subset).ok().flatten();
        if let Some(c) = &stored {
            self.chunk_reads.fetch_add(c.num_elements(), Ordering::Relaxed);
        }
        // a corrupt store (a shard index pointing past the end of its file,
        // ...) can make the decoder panic: an error naming the store and chunks
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.array.retrieve_array_subset_opt::<ArrayD<T>>(&subset, &self.opts)
        }));
        let a: ArrayD<T> = match read {
            Ok(r) => r.map_err(|e| storage_err(&self.path, format!("reading {ranges:?}: {e}")))?,
            Err(p) => {
                let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
                let which = match &stored {
                    Some(c) => format!("stored chunk(s) {:?}", c.to_ranges()),
                    None => "its stored chunks".to_string(),
                };
                return Err(storage_err(
                    &self.path,
                    format!(
                        "reading elements {ranges:?} from {which} failed: the stored data is corrupt or unreadable \
                         (the decoder panicked: {})",
                        msg.unwrap_or_else(|| "no message".into())
                    ),
                ));
            }
        };
        if a.shape() != shape {
            return a
                .into_shape_with_order(IxDyn(shape))
                .map_err(|e| storage_err(&self.path, format!("reading {ranges:?}: unexpected shape: {e}")));
        }
        Ok(a)
    }
}

/// The most blocks, summed over the axes, that opening a stored array
/// lists (each axis's block sizes are held in memory): a store whose
/// metadata declares more (`shape [10^12]`, `chunk_shape [1]`) is refused
/// when opened, in time independent of its number of chunks.
pub const MAX_OPEN_BLOCKS: u64 = 1 << 24;

/// Refuse a grid of `counts` blocks per axis when its lists would exceed [`MAX_OPEN_BLOCKS`].
fn check_block_counts(path: &Path, counts: &[u64], what: &str) -> Result<()> {
    let total = counts.iter().fold(0u64, |a, &c| a.saturating_add(c));
    if total > MAX_OPEN_BLOCKS {
        return Err(Error::Chunks(format!(
            "{}: its {what} grid is {counts:?} blocks per axis, more than the {MAX_OPEN_BLOCKS} blocks (over all axes) floe can \
             list; rewrite it with larger chunks",
            path.display()
        )));
    }
    Ok(())
}

/// Whether the chunk grid is regular (v2 always; v3 `regular`).
fn regular_grid(array: &ZArray<FilesystemStore>) -> bool {
    match array.metadata() {
        zarrs::metadata::ArrayMetadata::V2(_) => true,
        zarrs::metadata::ArrayMetadata::V3(m) => m.chunk_grid.name() == "regular",
    }
}

/// floe blocks of a stored array: its chunk grid clipped to the shape; and
/// the bytes of the stored unit a block read decodes whole (the chunk, not
/// clipped: a chunk may reach far past the array's edge). Reads nothing but
/// metadata; refuses grids over [`MAX_OPEN_BLOCKS`] before listing anything.
fn block_grid(path: &Path, array: &ZArray<FilesystemStore>, shape: &[usize], dtype: DType) -> Result<(Chunks, u64)> {
    let nd = shape.len();
    let zero = vec![0u64; nd];
    let outer: Vec<usize> = if nd == 0 {
        vec![]
    } else {
        array.chunk_shape(&zero).map_err(|e| storage_err(path, e))?.iter().map(|c| c.get() as usize).collect()
    };
    let block_bytes = outer.iter().fold(dtype.size() as u64, |a, &c| a.saturating_mul(c as u64));
    let counts = |chunk: &[usize]| -> Vec<u64> {
        shape.iter().zip(chunk).map(|(&l, &c)| (l as u64).div_ceil(c.max(1) as u64)).collect()
    };
    let bytes_of = |c: &[usize]| c.iter().fold(dtype.size() as u64, |a, &v| a.saturating_mul(v as u64));
    let mut decode = block_bytes;
    let sizes: Vec<Vec<usize>> = match array.effective_subchunk_shape().filter(|_| array.is_sharded() && block_bytes > MAX_SHARD_BLOCK) {
        Some(inner) => {
            let inner: Vec<usize> = inner.iter().map(|c| c.get() as usize).collect();
            check_block_counts(path, &counts(&inner), "inner chunk")?;
            decode = bytes_of(&inner);
            shape.iter().zip(&inner).map(|(&l, &c)| regular(l, c.max(1))).collect()
        }
        None => {
            check_block_counts(path, array.chunk_grid_shape(), "chunk")?;
            if regular_grid(array) {
                check_block_counts(path, &counts(&outer), "chunk")?;
                shape.iter().zip(&outer).map(|(&l, &c)| regular(l, c.max(1))).collect()
            } else {
                per_axis(array, shape).map_err(|e| storage_err(path, e))?
            }
        }
    };
    // an empty array reads nothing
    let decode = if shape.contains(&0) { 0 } else { decode };
    Ok((Chunks::new_stored_grid(shape, sizes).map_err(|e| storage_err(path, e))?, decode))
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
            o.location == self.location && o.array.metadata() == self.array.metadata()
        })
    }
}
