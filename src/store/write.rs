//! Writing Zarr v3 arrays chunk by chunk. The protocol that makes a write
//! safe to interrupt and resume:
//! 1. `zarr.json` is written first, carrying the extra field
//!    `floe_write_in_progress` with `must_understand: true`, so no Zarr
//!    reader (floe, zarrs, zarr-python) takes the half-written array for a
//!    complete one;
//! 2. every chunk is written whole (temporary file + rename, see
//!    [`super::atomic`]), so a chunk present under its key is complete;
//! 3. when every chunk is written, `zarr.json` is replaced (again by rename)
//!    by the final metadata without the marker.
//! A resumed write skips the chunks already present.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ndarray::{ArrayD, ArrayViewD, IxDyn, SliceInfoElem};
use zarrs::array::{Array as ZArray, ArrayBuilder, ArrayMetadata, CodecOptions, Element as ZElement};
use zarrs::filesystem::FilesystemStore;
use zarrs::storage::ReadableStorageTraits;

use super::atomic::AtomicFsStore;
use super::zarr::{storage_err, IN_PROGRESS};
use crate::chunks::for_each_in_box;
use crate::dtype::DType;
use crate::error::{Error, Result};

/// The compressor of a written Zarr array.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ZarrCodec {
    /// Raw little-endian bytes.
    None,
    /// Zstandard at `level` (1..=22; 3 is zarr-python's default).
    Zstd { level: i32 },
    /// gzip at `level` (0..=9).
    Gzip { level: u32 },
}

impl ZarrCodec {
    /// Check the codec's settings, so that nothing is written with a codec
    /// that would fail (or write a store nothing reads back): zstd levels in
    /// the range the zstd library accepts, gzip levels 0..=9.
    pub fn validate(&self) -> Result<()> {
        match *self {
            ZarrCodec::None => Ok(()),
            ZarrCodec::Zstd { level } => {
                let range = zstd::compression_level_range();
                if range.contains(&level) {
                    Ok(())
                } else {
                    Err(Error::Value(format!(
                        "zstd level {level} is out of range: zstd accepts {}..={} (3 is the usual default)",
                        range.start(),
                        range.end()
                    )))
                }
            }
            ZarrCodec::Gzip { level } => {
                if level <= 9 {
                    Ok(())
                } else {
                    Err(Error::Value(format!("gzip level {level} is out of range: gzip accepts 0..=9")))
                }
            }
        }
    }
}

impl Default for ZarrCodec {
    fn default() -> Self {
        ZarrCodec::Zstd { level: 3 }
    }
}

/// How `to_zarr` writes: codec, store chunks, and what to do with an existing array.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ZarrWriteOptions {
    pub(crate) codec: ZarrCodec,
    pub(crate) overwrite: bool,
    pub(crate) resume: bool,
    pub(crate) chunks: Option<Vec<usize>>,
}

impl ZarrWriteOptions {
    /// Zstd level 3, the array's own chunks (regularised), no overwrite, no resume.
    pub fn new() -> ZarrWriteOptions {
        ZarrWriteOptions::default()
    }
    pub fn codec(mut self, codec: ZarrCodec) -> Self {
        self.codec = codec;
        self
    }
    /// Replace an existing Zarr array at the path (otherwise writing there is
    /// an error). A Zarr group is never replaced, and no path overlapping a
    /// store the written array reads (the store itself, a directory holding
    /// it, a path inside it) is written, with or without overwrite.
    pub fn overwrite(mut self, on: bool) -> Self {
        self.overwrite = on;
        self
    }
    /// Finish an interrupted write of the same array: chunks already in the
    /// store are not computed again. The existing array must have the same
    /// shape, element type and chunks.
    pub fn resume(mut self, on: bool) -> Self {
        self.resume = on;
        self
    }
    /// The stored chunk shape (default: the largest block of the array per axis).
    pub fn chunks(mut self, chunk_shape: Vec<usize>) -> Self {
        self.chunks = Some(chunk_shape);
        self
    }
}

/// A Zarr v3 array being written.
pub struct ZarrWriter {
    path: PathBuf,
    array: ZArray<AtomicFsStore>,
    shape: Vec<usize>,
    chunk_shape: Vec<usize>,
    final_meta: serde_json::Value,
    opts: CodecOptions,
}

fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("json{}{}", super::atomic::TMP_MARK, std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| storage_err(path, e))?;
    std::fs::rename(&tmp, path).map_err(|e| storage_err(path, e))
}

impl ZarrWriter {
    /// Create (or, with `resume`, reopen) the array at `path`. Returns the
    /// writer; its metadata is on disk marked as in progress.
    pub fn create(path: &Path, shape: &[usize], dtype: DType, chunk_shape: &[usize], o: &ZarrWriteOptions) -> Result<ZarrWriter> {
        o.codec.validate()?;
        if chunk_shape.len() != shape.len() || chunk_shape.iter().any(|&c| c == 0) {
            return Err(Error::Chunks(format!(
                "store chunk shape {chunk_shape:?} does not fit an array of shape {shape:?} (one positive size per axis)"
            )));
        }
        let is_array = path.join("zarr.json").is_file() || path.join(".zarray").is_file();
        let mut resumed = None;
        if path.exists() {
            if !path.is_dir() {
                return Err(storage_err(path, "exists and is not a directory"));
            }
            if is_group(path) {
                return Err(storage_err(
                    path,
                    "is a Zarr group; refusing to replace it (and the arrays it holds) by an array: write to a path inside it",
                ));
            }
            if is_array && o.resume {
                resumed = Some(existing_metadata(path)?);
            } else if is_array && o.overwrite {
                std::fs::remove_dir_all(path).map_err(|e| storage_err(path, e))?;
            } else if is_array {
                return Err(storage_err(
                    path,
                    "a Zarr array already exists here; pass overwrite(true) to replace it or resume(true) to finish an interrupted write",
                ));
            } else if std::fs::read_dir(path).map_err(|e| storage_err(path, e))?.next().is_some() {
                return Err(storage_err(path, "exists, is not empty and is not a Zarr array; refusing to write there"));
            }
        }
        std::fs::create_dir_all(path).map_err(|e| storage_err(path, e))?;
        let fs = Arc::new(FilesystemStore::new(path).map_err(|e| storage_err(path, e))?);
        let store = Arc::new(AtomicFsStore::new(fs));
        let array = match resumed {
            Some(meta) => {
                let a = ZArray::new_with_metadata(store, "/", meta).map_err(|e| storage_err(path, e))?;
                let same_shape = a.shape().iter().map(|&s| s as usize).eq(shape.iter().copied());
                let name = zarrs::plugin::ExtensionName::name(a.data_type(), zarrs::plugin::ZarrVersion::V3)
                    .map(|c| c.to_string())
                    .unwrap_or_default();
                let zero = vec![0u64; shape.len()];
                let chunks: Vec<usize> = if shape.is_empty() {
                    vec![]
                } else {
                    a.chunk_shape(&zero).map_err(|e| storage_err(path, e))?.iter().map(|c| c.get() as usize).collect()
                };
                if !same_shape || name != dtype.name() || chunks != chunk_shape {
                    return Err(storage_err(
                        path,
                        format!(
                            "cannot resume: the existing array is {name} {:?} with chunks {chunks:?}, the array written is {} {shape:?} with chunks {chunk_shape:?}",
                            a.shape(),
                            dtype.name()
                        ),
                    ));
                }
                a
            }
            None => {
                let fill = match dtype {
                    DType::Bool => serde_json::json!(false),
                    DType::F32 | DType::F64 => serde_json::json!(0.0),
                    _ => serde_json::json!(0),
                };
                let fill: zarrs::metadata::FillValueMetadata =
                    serde_json::from_value(fill).map_err(|e| Error::Storage(format!("fill value: {e}")))?;
                let mut b = ArrayBuilder::new(
                    shape.iter().map(|&s| s as u64).collect::<Vec<u64>>(),
                    chunk_shape.iter().map(|&c| c as u64).collect::<Vec<u64>>(),
                    dtype.name().to_string(),
                    fill,
                );
                match o.codec {
                    ZarrCodec::None => {}
                    ZarrCodec::Zstd { level } => {
                        b.bytes_to_bytes_codecs(vec![Arc::new(zarrs::array::codec::ZstdCodec::new(level, false))]);
                    }
                    ZarrCodec::Gzip { level } => {
                        let g = zarrs::array::codec::GzipCodec::new(level)
                            .map_err(|e| Error::Value(format!("gzip level {level}: {e}")))?;
                        b.bytes_to_bytes_codecs(vec![Arc::new(g)]);
                    }
                }
                b.build(store, "/").map_err(|e| storage_err(path, e))?
            }
        };
        let final_meta = serde_json::to_value(array.metadata()).map_err(|e| storage_err(path, e))?;
        let mut marked = final_meta.clone();
        if let serde_json::Value::Object(m) = &mut marked {
            m.remove(IN_PROGRESS);
            m.insert(
                IN_PROGRESS.into(),
                serde_json::json!({"must_understand": true, "note": "floe is writing this array; it is incomplete until this field is gone"}),
            );
        }
        let mut fin = final_meta;
        if let serde_json::Value::Object(m) = &mut fin {
            m.remove(IN_PROGRESS);
        }
        write_file_atomic(&path.join("zarr.json"), &serde_json::to_vec_pretty(&marked).map_err(|e| storage_err(path, e))?)?;
        Ok(ZarrWriter {
            path: path.to_path_buf(),
            array,
            shape: shape.to_vec(),
            chunk_shape: chunk_shape.to_vec(),
            final_meta: fin,
            opts: CodecOptions::default().with_concurrent_target(1),
        })
    }

    pub fn chunk_shape(&self) -> &[usize] {
        &self.chunk_shape
    }

    /// Whether the stored chunk at `idx` exists (written whole).
    pub fn chunk_present(&self, idx: &[u64]) -> bool {
        let key = self.array.chunk_key(idx);
        matches!(self.array.storage().size_key(&key), Ok(Some(_)))
    }

    /// Whether every stored chunk of the region `start .. start + shape` exists.
    pub fn region_present(&self, start: &[usize], shape: &[usize]) -> bool {
        let mut all = true;
        self.for_chunks(start, shape, |idx, _, _| {
            all &= self.chunk_present(idx);
        });
        all
    }

    /// Call `f(chunk index, chunk start, chunk shape clipped to the array)`
    /// for every stored chunk of the region `start .. start + shape`.
    fn for_chunks(&self, start: &[usize], shape: &[usize], mut f: impl FnMut(&[u64], &[usize], &[usize])) {
        if shape.iter().any(|&s| s == 0) {
            return;
        }
        let c = &self.chunk_shape;
        let ranges: Vec<(usize, usize)> =
            (0..c.len()).map(|k| (start[k] / c[k], (start[k] + shape[k]).div_ceil(c[k]))).collect();
        for_each_in_box(&ranges, |idx| {
            let cstart: Vec<usize> = (0..c.len()).map(|k| idx[k] * c[k]).collect();
            let cshape: Vec<usize> = (0..c.len()).map(|k| c[k].min(self.shape[k] - cstart[k])).collect();
            let i64s: Vec<u64> = idx.iter().map(|&i| i as u64).collect();
            f(&i64s, &cstart, &cshape);
        });
    }

    /// Write the region of the array at `start` held in `data`; the region
    /// must consist of whole stored chunks (edge chunks clipped to the array).
    pub fn write_region<T: ZElement + Clone + Default>(&self, start: &[usize], data: ArrayViewD<'_, T>) -> Result<()> {
        let nd = self.shape.len();
        if data.is_empty() && nd > 0 {
            return Ok(()); // a zero-size block holds no chunk
        }
        if nd == 0 {
            let v: Vec<T> = data.iter().cloned().collect();
            return self.array.store_chunk_opt(&[], v, &self.opts).map_err(|e| storage_err(&self.path, e));
        }
        for k in 0..nd {
            let end = start[k] + data.shape()[k];
            if start[k] % self.chunk_shape[k] != 0 || (end % self.chunk_shape[k] != 0 && end != self.shape[k]) {
                return Err(Error::Execution(format!(
                    "internal: region at {start:?} of shape {:?} is not whole chunks of {:?}",
                    data.shape(),
                    self.chunk_shape
                )));
            }
        }
        let mut err = None;
        self.for_chunks(start, data.shape(), |idx, cstart, cshape| {
            if err.is_some() {
                return;
            }
            let sl: Vec<SliceInfoElem> = (0..nd)
                .map(|k| SliceInfoElem::Slice {
                    start: (cstart[k] - start[k]) as isize,
                    end: Some((cstart[k] - start[k] + cshape[k]) as isize),
                    step: 1,
                })
                .collect();
            let part = data.slice(sl.as_slice());
            let r = if cshape == self.chunk_shape.as_slice() && part.is_standard_layout() {
                self.array.store_chunk_opt(idx, &part, &self.opts)
            } else if cshape == self.chunk_shape.as_slice() {
                // a strided view: copied row by row (ndarray's assign), not element by element
                let mut full = ArrayD::from_elem(IxDyn(&self.chunk_shape), T::default());
                full.assign(&part);
                self.array.store_chunk_opt(idx, full, &self.opts)
            } else {
                // an edge chunk: padded with the fill value to the full chunk shape
                let mut full = ArrayD::from_elem(IxDyn(&self.chunk_shape), T::default());
                let sl2: Vec<SliceInfoElem> = cshape
                    .iter()
                    .map(|&n| SliceInfoElem::Slice { start: 0, end: Some(n as isize), step: 1 })
                    .collect();
                full.slice_mut(sl2.as_slice()).assign(&part);
                self.array.store_chunk_opt(idx, full, &self.opts)
            };
            if let Err(e) = r {
                err = Some(storage_err(&self.path, format!("writing chunk {idx:?}: {e}")));
            }
        });
        err.map_or(Ok(()), Err)
    }

    /// Replace the in-progress metadata by the final one: the array now reads as complete.
    pub fn finish(&self) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(&self.final_meta).map_err(|e| storage_err(&self.path, e))?;
        write_file_atomic(&self.path.join("zarr.json"), &bytes)
    }
}

/// Whether `path` holds a Zarr group (v3 `node_type: group`, or a v2 `.zgroup` without `.zarray`).
fn is_group(path: &Path) -> bool {
    let v3 = std::fs::read_to_string(path.join("zarr.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|m| m.get("node_type").and_then(|n| n.as_str()) == Some("group"));
    v3 || (path.join(".zgroup").is_file() && !path.join(".zarray").is_file())
}

/// The metadata of an existing v3 array (marker removed), for resuming.
fn existing_metadata(path: &Path) -> Result<ArrayMetadata> {
    let text = std::fs::read_to_string(path.join("zarr.json"))
        .map_err(|_| storage_err(path, "cannot resume: only Zarr v3 arrays written by floe can be resumed"))?;
    let mut v: serde_json::Value = serde_json::from_str(&text).map_err(|e| storage_err(path, format!("zarr.json: {e}")))?;
    if let serde_json::Value::Object(m) = &mut v {
        m.remove(IN_PROGRESS);
    }
    let meta: zarrs::metadata::v3::ArrayMetadataV3 =
        serde_json::from_value(v).map_err(|e| storage_err(path, format!("zarr.json: {e}")))?;
    Ok(ArrayMetadata::V3(meta))
}
