//! An opt-in global allocator for programs that move large chunks: the
//! system allocator, plus `madvise(MADV_HUGEPAGE)` on every allocation of
//! 4 MiB or more (as NumPy does for its large arrays). Fresh multi-megabyte
//! chunk buffers then fault in 2 MiB pages instead of 4 KiB ones; on the
//! Zarr workloads the kernel's per-page fault work was over a third of the
//! run time. Freed buffers of 4 MiB or more are also kept in a small cache
//! (at most [`CACHE_BYTES`], 16 buffers) and handed out again for the next
//! allocation of the same size class: chunk after chunk then reuses memory
//! instead of having the kernel map and zero new pages each time. Large
//! allocations are rounded up to eight size classes per power of two (at
//! most 12.5% more), so that blocks of nearly the same size share buffers:
//! a `map_overlap` task's halo-grown block (2502² on W5), the function's
//! result and the trimmed 2500² block all fit one class.
//! Linux only (elsewhere it is the system allocator). A library
//! cannot choose the allocator; a program opts in with
//!
//! ```
//! #[global_allocator]
//! static ALLOC: floe::HugePageAlloc = floe::HugePageAlloc;
//! # fn main() {}
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The system allocator with transparent huge pages for large allocations
/// and a bounded cache of freed large buffers.
pub struct HugePageAlloc;

const HUGE: usize = 4 << 20;

/// Most bytes of freed buffers the cache keeps.
pub const CACHE_BYTES: usize = 256 << 20;
const SLOTS: usize = 16;

/// Freed large buffers: (address, size, alignment); address 0 is an empty slot.
struct Cache {
    slots: [(usize, usize, usize); SLOTS],
    bytes: usize,
}

// a const-initialised std Mutex never allocates, so the allocator may use it
static CACHE: Mutex<Cache> = Mutex::new(Cache { slots: [(0, 0, 0); SLOTS], bytes: 0 });

/// The bytes actually allocated for a request of `size`: `size` below
/// [`HUGE`]; above, rounded up to a multiple of an eighth of the largest
/// power of two not above it (so at most 12.5% more, and never less).
fn class_size(size: usize) -> usize {
    if size < HUGE {
        return size;
    }
    let step = (1usize << (usize::BITS - 1 - size.leading_zeros())) / 8;
    size.div_ceil(step).saturating_mul(step)
}

/// `layout` with its size rounded up to its class.
fn class_layout(layout: Layout) -> Layout {
    // SAFETY: the alignment is a valid layout's; the class size is at
    // least the size and, being a multiple of a power of two no smaller
    // than 512 KiB, stays a multiple of any alignment up to that; larger
    // alignments keep the requested size.
    match Layout::from_size_align(class_size(layout.size()), layout.align()) {
        Ok(l) if l.align() <= (HUGE / 8) => l,
        _ => layout,
    }
}

/// A cached buffer of this (class) layout, if any.
fn take_cached(layout: Layout) -> *mut u8 {
    let Ok(mut c) = CACHE.try_lock() else { return std::ptr::null_mut() };
    for i in 0..SLOTS {
        let (p, size, align) = c.slots[i];
        if p != 0 && size == layout.size() && align == layout.align() {
            c.slots[i] = (0, 0, 0);
            c.bytes -= size;
            return p as *mut u8;
        }
    }
    std::ptr::null_mut()
}

/// Keep a freed buffer if there is room; false if the caller must free it.
fn keep(ptr: *mut u8, layout: Layout) -> bool {
    let Ok(mut c) = CACHE.try_lock() else { return false };
    if c.bytes + layout.size() > CACHE_LIMIT.load(Ordering::Relaxed) {
        return false;
    }
    match c.slots.iter().position(|s| s.0 == 0) {
        Some(i) => {
            c.slots[i] = (ptr as usize, layout.size(), layout.align());
            c.bytes += layout.size();
            true
        }
        None => false,
    }
}

/// Most bytes the cache keeps now: [`CACHE_BYTES`], lowered by
/// [`bound_for_memory_limit`].
static CACHE_LIMIT: AtomicUsize = AtomicUsize::new(CACHE_BYTES);

/// Make freed chunk memory go back to the system, for runs under a memory
/// limit (called by the executor when one is set). Without this, the
/// process holds far more than the executor does: measured on the TSQR of
/// a 32 MiB Zarr matrix under a 16 MiB limit (tests/linalg_memory.rs), the
/// executor's peak was 7 MiB and the process's peak RSS 62 MiB, because
/// glibc raises its mmap threshold after the first large free and then
/// keeps freed multi-megabyte chunks in per-thread arenas; with the
/// threshold fixed at 256 KiB the peak RSS was 33 MiB. So, process-wide
/// and for the rest of the process:
/// - on glibc, `mallopt(M_MMAP_THRESHOLD, 256 KiB)`: buffers of 256 KiB
///   or more are mapped and unmapped, never kept in an arena;
/// - the [`HugePageAlloc`] cache keeps at most an eighth of the smallest
///   limit seen (instead of [`CACHE_BYTES`]).
pub(crate) fn bound_for_memory_limit(limit: u64) {
    let cap = (limit / 8).min(CACHE_BYTES as u64) as usize;
    if CACHE_LIMIT.fetch_min(cap, Ordering::Relaxed) > cap {
        let mut c = CACHE.lock().unwrap_or_else(|e| e.into_inner());
        for i in 0..SLOTS {
            let (p, size, align) = c.slots[i];
            if p != 0 && c.bytes > cap {
                c.slots[i] = (0, 0, 0);
                c.bytes -= size;
                // SAFETY: the slot held a block allocated by `System` with
                // this size and alignment, owned by the cache alone.
                unsafe { System.dealloc(p as *mut u8, Layout::from_size_align_unchecked(size, align)) };
            }
        }
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static FIXED: std::sync::Once = std::sync::Once::new();
        FIXED.call_once(|| {
            // SAFETY: mallopt only changes glibc's allocation policy.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 256 << 10);
            }
        });
    }
}

impl HugePageAlloc {
    /// Bytes of freed buffers held by the cache now.
    pub fn cached_bytes() -> usize {
        CACHE.lock().map(|c| c.bytes).unwrap_or(0)
    }
}

#[cfg(target_os = "linux")]
fn advise(p: *mut u8, size: usize) {
    if p.is_null() || size < HUGE {
        return;
    }
    // whole 2 MiB pages inside the allocation
    let start = (p as usize).next_multiple_of(2 << 20);
    let end = (p as usize + size) & !((2 << 20) - 1);
    if end > start {
        // SAFETY: the range lies inside an allocation we own; MADV_HUGEPAGE
        // only changes how its not-yet-touched pages are backed.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise(_p: *mut u8, _size: usize) {}

// SAFETY: every method forwards to `System`, with the size of a large
// block rounded up to its class (`class_layout`, a function of the
// requested layout alone, so `dealloc` and `realloc` pass `System` the
// layout it allocated), except that a freed large buffer may be kept in
// the cache (still owned by us) and returned by a later `alloc` of the same
// class and alignment (the contract of `alloc` leaves the contents
// unspecified; `alloc_zeroed` clears the requested bytes of a cached block
// before returning it). The advice does not change the memory's contents
// or ownership.
unsafe impl GlobalAlloc for HugePageAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let layout = class_layout(layout);
        if layout.size() >= HUGE {
            let p = take_cached(layout);
            if !p.is_null() {
                return p;
            }
        }
        let p = unsafe { System.alloc(layout) };
        advise(p, layout.size());
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let requested = layout.size();
        let layout = class_layout(layout);
        if layout.size() >= HUGE {
            let p = take_cached(layout);
            if !p.is_null() {
                // SAFETY: a whole cached block of this class, owned by us
                unsafe { std::ptr::write_bytes(p, 0, requested) };
                return p;
            }
        }
        let p = unsafe { System.alloc_zeroed(layout) };
        advise(p, layout.size());
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let layout = class_layout(layout);
        if layout.size() >= HUGE && keep(ptr, layout) {
            return;
        }
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old = class_layout(layout);
        let new = class_size(new_size);
        if new == old.size() {
            return ptr; // the same class: the block already has room
        }
        let p = unsafe { System.realloc(ptr, old, new) };
        if new > old.size() {
            advise(p, new);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_and_small_allocations_round_trip() {
        let a = HugePageAlloc;
        for &size in &[16usize, HUGE - 1, HUGE, 3 * HUGE + 123] {
            let l = Layout::from_size_align(size, 64).unwrap();
            // SAFETY: a valid non-zero layout; the block is written within
            // bounds, grown with realloc and freed with its final layout.
            unsafe {
                let p = a.alloc_zeroed(l);
                assert!(!p.is_null());
                assert_eq!(*p.add(size - 1), 0);
                *p.add(size - 1) = 7;
                let q = a.realloc(p, l, size * 2);
                assert_eq!(*q.add(size - 1), 7);
                a.dealloc(q, Layout::from_size_align(size * 2, 64).unwrap());
            }
        }
    }

    #[test]
    fn size_classes_round_up_by_at_most_an_eighth() {
        for size in [0, 1, HUGE - 1] {
            assert_eq!(class_size(size), size);
        }
        for size in [HUGE, HUGE + 1, 3 * HUGE + 123, 50_000_000, 50_080_032, usize::MAX / 3] {
            let c = class_size(size);
            assert!(c >= size && c - size <= size / 8, "{size} -> {c}");
            assert_eq!(class_size(c), c, "a class size is its own class");
        }
        // W5's trimmed and halo-grown blocks share a class
        assert_eq!(class_size(2500 * 2500 * 8), class_size(2502 * 2502 * 8));
        assert_ne!(class_size(HUGE), class_size(2 * HUGE));
    }

    #[test]
    fn realloc_within_and_across_classes_keeps_the_contents() {
        let a = HugePageAlloc;
        let l = Layout::from_size_align(50_000_000, 64).unwrap();
        // SAFETY: valid layouts; each block is used within its current size
        // and freed once with its final layout.
        unsafe {
            let p = a.alloc(l);
            *p = 9;
            *p.add(49_999_999) = 3;
            let q = a.realloc(p, l, 50_080_032); // the same class: in place
            assert_eq!(q, p);
            assert_eq!(*q.add(49_999_999), 3);
            *q.add(50_080_031) = 4;
            let r = a.realloc(q, Layout::from_size_align(50_080_032, 64).unwrap(), 90_000_000);
            assert_eq!((*r.add(49_999_999), *r.add(50_080_031)), (3, 4));
            let t = a.realloc(r, Layout::from_size_align(90_000_000, 64).unwrap(), 1000);
            assert_eq!(*t, 9);
            a.dealloc(t, Layout::from_size_align(1000, 64).unwrap());
        }
    }

    #[test]
    fn freed_large_buffers_are_reused_and_the_cache_is_bounded() {
        let a = HugePageAlloc;
        let l = Layout::from_size_align(HUGE + 4096, 64).unwrap();
        // SAFETY: valid layouts; every block is freed once with its layout.
        unsafe {
            let p = a.alloc(l);
            *p = 1;
            a.dealloc(p, l);
            let q = a.alloc(l);
            // the cache is global: another test may have taken the block, but
            // normally the same buffer comes back
            if q == p {
                assert_eq!(*q, 1);
            }
            a.dealloc(q, l);
            let many: Vec<*mut u8> = (0..80).map(|_| a.alloc(l)).collect();
            for &m in &many {
                a.dealloc(m, l);
            }
        }
        assert!(HugePageAlloc::cached_bytes() <= CACHE_BYTES);
    }
}
