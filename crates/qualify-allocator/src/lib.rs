//! The `qualify` binary's memory allocator, mimalloc, and the one call into it that Rust's
//! allocator interface lacks: handing the memory freed during start-up back to the system. The
//! only crate of the workspace with `unsafe` code, for that one foreign call.

/// The allocator the binary installs as its `#[global_allocator]`.
pub use mimalloc::MiMalloc as Allocator;

/// Gives the memory freed so far back to the system now.
///
/// mimalloc returns freed pages to the system only after a delay, and only when a thread next
/// allocates on its slow path: memory freed in a burst just before the process goes quiet stays
/// resident until the next burst. Building a server frees several megabytes (the OpenAPI
/// document's pieces, above all), which an idle server would keep (BENCHMARKS.md, "Idle
/// memory"). It walks every free page, so it is meant for moments like the end of start-up,
/// never for a request's path.
pub fn release_freed_memory() {
    // SAFETY: `mi_collect` takes no pointers and touches only the allocator's own bookkeeping:
    // the calling thread's heap, and the arenas every thread shares, under mimalloc's own
    // synchronisation. No block still allocated is moved or freed; `force` only makes it purge
    // every free page now instead of those whose delay has expired.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_collect(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The test binary allocates as the `qualify` binary does.
    #[global_allocator]
    static ALLOCATOR: Allocator = Allocator;

    #[test]
    fn releasing_freed_memory_keeps_what_is_still_allocated() {
        let kept: Vec<u64> = (0..1u64 << 20).collect();
        let freed: Vec<u64> = (0..1u64 << 20).rev().collect();
        drop(freed);
        release_freed_memory();
        assert!(kept.iter().enumerate().all(|(i, &n)| n == i as u64));
    }
}
