//! An opt-in global allocator for programs that move large chunks: the
//! system allocator, plus `madvise(MADV_HUGEPAGE)` on every allocation of
//! 4 MiB or more (as NumPy does for its large arrays). Fresh multi-megabyte
//! chunk buffers then fault in 2 MiB pages instead of 4 KiB ones; on the
//! Zarr workloads the kernel's per-page fault work was over a third of the
//! run time. Linux only (elsewhere it is the system allocator). A library
//! cannot choose the allocator; a program opts in with
//!
//! ```
//! #[global_allocator]
//! static ALLOC: floe::HugePageAlloc = floe::HugePageAlloc;
//! # fn main() {}
//! ```

use std::alloc::{GlobalAlloc, Layout, System};

/// The system allocator with transparent huge pages for large allocations.
pub struct HugePageAlloc;

const HUGE: usize = 4 << 20;

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

// SAFETY: every method forwards to `System` with the same arguments; the
// advice does not change the memory's contents or ownership.
unsafe impl GlobalAlloc for HugePageAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        advise(p, layout.size());
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        advise(p, layout.size());
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if new_size > layout.size() {
            advise(p, new_size);
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
}
