internal import CAscribeShim

/// Gives memory the daemon freed back to the kernel.
///
/// Why: glibc keeps freed memory in its arenas for reuse. Loading thousands of job files peaks
/// at about twice what the loaded jobs keep, and a long-lived daemon would otherwise hold that
/// peak for its whole life (with 10,000 jobs: ~15 MB of the resident set, see BENCHMARKS.md).
public enum AllocatorTrim {
    /// `malloc_trim(0)`: every arena's free pages, not only the top of the main heap. Cheap
    /// (milliseconds), so it runs after start-up and each reload, not on every wake-up.
    public static func releaseFreePages() {
        _ = ascribe_malloc_trim()
    }
}
