//! Output arrays written in place by the tasks that make their blocks.
//!
//! An output of more than one block is allocated once, uninitialised, before
//! the run ([`OutBuf::new`]). Each task of the output layer writes its block
//! straight into its region: a fused program's tiles go there as they are
//! computed (the block is never a chunk of its own), any other block is
//! copied there. Regions of different blocks never overlap, so the workers
//! write without a lock. The array is handed out ([`OutBuf::finish`]) only
//! when every element has been written; a run that ends early (an error)
//! drops it unread.

use std::any::Any;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use ndarray::{ArrayD, IxDyn};

use super::chunk::{typed, Chunk, HostElement};
use crate::chunks::Chunks;
use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::task::Layer;

/// An output array being written block by block.
pub struct OutBuf {
    dtype: DType,
    shape: Vec<usize>,
    /// Row-major element strides of `shape`.
    strides: Vec<isize>,
    /// The first element of the array owned by `owner`.
    ptr: *mut u8,
    /// The `ArrayD<MaybeUninit<T>>` the pointer points into.
    owner: Box<dyn Any + Send>,
    /// Elements written so far.
    written: AtomicUsize,
}

// SAFETY: the buffer is owned by `owner` (Send); writers only go through
// `region`/`put`, whose callers promise disjoint regions, and it is read
// only by `finish`, which takes `self`.
unsafe impl Send for OutBuf {}
unsafe impl Sync for OutBuf {}

/// A block's place in an output array: its first element and the array's
/// element strides.
pub struct Region {
    pub ptr: *mut u8,
    pub strides: Vec<isize>,
    pub shape: Vec<usize>,
    pub dtype: DType,
    /// Whether the region is one run of consecutive elements.
    pub contiguous: bool,
    /// Whether writes should bypass the cache (the array is larger than
    /// [`STREAMING_BYTES`]).
    pub streaming: bool,
}

/// Outputs of more bytes than this are written with non-temporal stores:
/// larger than the caches, they would only evict the inputs.
pub const STREAMING_BYTES: usize = 64 << 20;

impl OutBuf {
    /// An uninitialised array of `dtype` and `shape`.
    pub fn new(dtype: DType, shape: &[usize]) -> OutBuf {
        crate::dispatch_dtype!(dtype, T => {
            let mut a = ArrayD::<T>::uninit(IxDyn(shape));
            let ptr = a.as_mut_ptr() as *mut u8;
            let strides = crate::chunks::row_major_strides(shape).into_iter().map(|s| s as isize).collect();
            OutBuf { dtype, shape: shape.to_vec(), strides, ptr, owner: Box::new(a), written: AtomicUsize::new(0) }
        })
    }

    /// The region of the block of `shape` whose first element is at `start`.
    pub fn region(&self, start: &[usize], shape: &[usize]) -> Result<Region> {
        let inside = start.len() == self.shape.len()
            && shape.len() == self.shape.len()
            // checked: a start near usize::MAX must not wrap to "inside"
            && (0..shape.len()).all(|k| start[k].checked_add(shape[k]).is_some_and(|end| end <= self.shape[k]));
        if !inside {
            return Err(Error::Execution(format!(
                "internal: block at {start:?} of shape {shape:?} is outside the output of shape {:?}",
                self.shape
            )));
        }
        let off: isize = start.iter().zip(&self.strides).map(|(&s, &st)| s as isize * st).sum();
        // consecutive when empty, or when every axis past the first one
        // longer than 1 is whole
        let first = shape.iter().position(|&e| e > 1).unwrap_or(shape.len());
        let contiguous = shape.contains(&0) || (first + 1..shape.len()).all(|k| shape[k] == self.shape[k]);
        let size = self.dtype.size() as isize;
        // SAFETY: the block lies inside the array (checked above), so the
        // offset stays inside its allocation.
        let ptr = unsafe { self.ptr.offset(off * size) };
        let streaming = crate::size::saturating_bytes(self.shape.iter().product::<usize>(), self.dtype.size()) > STREAMING_BYTES as u64;
        Ok(Region { ptr, strides: self.strides.clone(), shape: shape.to_vec(), dtype: self.dtype, contiguous, streaming })
    }

    /// The region of block `block` of output layer `layer`.
    pub fn block_region(&self, layer: &Layer, block: &[usize]) -> Result<Region> {
        let c = chunks_of(layer)?;
        self.region(&c.block_start(block), &c.block_shape(block))
    }

    /// Record that `n` more elements were written.
    pub fn wrote(&self, n: usize) {
        self.written.fetch_add(n, Ordering::Relaxed);
    }

    /// Copy block `c` to its place at `start`.
    ///
    /// # Safety
    /// No other thread writes the block's region while this runs, and it is
    /// written only once.
    pub unsafe fn put(&self, start: &[usize], c: &Chunk) -> Result<()> {
        let r = self.region(start, c.shape())?;
        crate::dispatch_dtype!(self.dtype, T => {
            let src = typed::<T>(c)?;
            // SAFETY: the region is inside the array, ours alone (the caller's
            // promise), and its strides are the array's.
            let mut dst = unsafe { ndarray::ArrayViewMut::<T, IxDyn>::from_shape_ptr(r.shape_strides(), r.ptr as *mut T) };
            dst.assign(src);
        });
        self.wrote(c.len());
        Ok(())
    }

    /// The array, once every element was written.
    pub fn finish(self) -> Result<Chunk> {
        let n: usize = self.shape.iter().product();
        let written = self.written.load(Ordering::Relaxed);
        if written != n {
            return Err(Error::Execution(format!("internal: {written} of the output's {n} elements were written")));
        }
        crate::dispatch_dtype!(self.dtype, T => {
            let a = self
                .owner
                .downcast::<ArrayD<MaybeUninit<T>>>()
                .map_err(|_| Error::Execution("internal: output buffer of another type".into()))?;
            // SAFETY: every element was written (counted above; regions are
            // disjoint and each written once).
            Ok(<T as HostElement>::wrap(unsafe { a.assume_init() }))
        })
    }
}

/// Where an output's blocks go during a run.
pub enum OutSlot {
    /// Assembled as blocks arrive: an output of one block is its block; an
    /// output only some of whose blocks are made is zeros elsewhere.
    Assembled(Mutex<Option<Chunk>>),
    /// Written in place (an output of several blocks, all made).
    InPlace(OutBuf),
}

impl OutSlot {
    /// The slot for output layer `layer`, all of whose blocks are made
    /// when `whole`.
    pub fn new(layer: &Layer, whole: bool) -> OutSlot {
        match &layer.chunks {
            Some(c) if whole && layer.ntasks() > 1 => OutSlot::InPlace(OutBuf::new(layer.dtype, &c.shape())),
            _ => OutSlot::Assembled(Mutex::new(None)),
        }
    }

    /// The in-place buffer, if the slot has one.
    pub fn in_place(&self) -> Option<&OutBuf> {
        match self {
            OutSlot::InPlace(b) => Some(b),
            OutSlot::Assembled(_) => None,
        }
    }

    /// Put output block `block` of `layer`, made as chunk `c`.
    ///
    /// # Safety
    /// Each block is put (or written by [`OutBuf::region`]) once.
    pub unsafe fn put(&self, layer: &Layer, block: &[usize], c: &Chunk) -> Result<()> {
        match self {
            OutSlot::Assembled(m) => {
                let mut o = m.lock().unwrap_or_else(|e| e.into_inner());
                crate::exec::outputs::assemble(&mut o, layer, block, std::borrow::Cow::Borrowed(c))
            }
            // SAFETY: the caller's promise
            OutSlot::InPlace(b) => unsafe { b.put(&chunks_of(layer)?.block_start(block), c) },
        }
    }

    /// The output array, or `None` when no block was made.
    pub fn finish(self) -> Result<Option<Chunk>> {
        match self {
            OutSlot::Assembled(m) => Ok(m.into_inner().unwrap_or_else(|e| e.into_inner())),
            OutSlot::InPlace(b) => b.finish().map(Some),
        }
    }
}

fn chunks_of(layer: &Layer) -> Result<&Chunks> {
    layer.chunks.as_ref().ok_or_else(|| Error::Execution("internal: output layer without chunks".into()))
}

impl Region {
    /// The region's shape with the array's strides, for ndarray views.
    pub fn shape_strides(&self) -> ndarray::StrideShape<IxDyn> {
        use ndarray::ShapeBuilder;
        let strides: Vec<usize> = self.strides.iter().map(|&s| s as usize).collect();
        IxDyn(&self.shape).strides(IxDyn(&strides))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(shape: &[usize], from: i64) -> Chunk {
        let n: usize = shape.iter().product();
        Chunk::I64(ArrayD::from_shape_vec(IxDyn(shape), (from..from + n as i64).collect()).unwrap())
    }

    #[test]
    fn blocks_put_at_their_offsets_make_the_array() {
        // a 3x5 array from blocks (2,3) (2,2) (1,3) (1,2)
        let b = OutBuf::new(DType::I64, &[3, 5]);
        for (start, shape, from) in [([0, 0], [2, 3], 0), ([0, 3], [2, 2], 100), ([2, 0], [1, 3], 200), ([2, 3], [1, 2], 300)] {
            unsafe { b.put(&start, &chunk(&shape, from)).unwrap() };
        }
        let Chunk::I64(a) = b.finish().unwrap() else { panic!("dtype") };
        let want = ndarray::array![[0, 1, 2, 100, 101], [3, 4, 5, 102, 103], [200, 201, 202, 300, 301]].into_dyn();
        assert_eq!(a, want);
    }

    #[test]
    fn regions_know_when_they_are_contiguous() {
        let b = OutBuf::new(DType::F32, &[4, 6, 5]);
        assert!(b.region(&[1, 0, 0], &[2, 6, 5]).unwrap().contiguous);
        assert!(b.region(&[1, 2, 0], &[1, 3, 5]).unwrap().contiguous);
        assert!(b.region(&[1, 2, 3], &[1, 1, 2]).unwrap().contiguous);
        assert!(!b.region(&[0, 0, 0], &[2, 3, 5]).unwrap().contiguous);
        assert!(!b.region(&[0, 0, 0], &[1, 2, 4]).unwrap().contiguous);
        assert!(b.region(&[0, 0, 0], &[0, 2, 4]).unwrap().contiguous);
        assert!(b.region(&[3, 0, 0], &[2, 6, 5]).is_err(), "outside");
        assert!(b.region(&[0, 0], &[2, 6]).is_err(), "rank");
        assert!(b.region(&[usize::MAX, 0, 0], &[2, 6, 5]).is_err(), "a start that wraps is outside");
        assert!(b.region(&[1, 0, 0], &[usize::MAX, 6, 5]).is_err(), "a shape that wraps is outside");
    }

    #[test]
    fn an_array_not_wholly_written_is_not_handed_out() {
        let b = OutBuf::new(DType::I64, &[2, 2]);
        unsafe { b.put(&[0, 0], &chunk(&[1, 2], 0)).unwrap() };
        assert!(b.finish().is_err());
        let b = OutBuf::new(DType::I64, &[2, 2]);
        assert!(unsafe { b.put(&[0, 0], &Chunk::F64(ArrayD::zeros(IxDyn(&[1, 2])))) }.is_err(), "dtype");
        // zero-size arrays are complete at once
        let b = OutBuf::new(DType::Bool, &[0, 3]);
        assert_eq!(b.finish().unwrap().shape(), &[0, 3]);
    }
}
