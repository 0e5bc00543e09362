import Dispatch
import Foundation

/// How the kernels use the CPU's cores.
///
/// Work is split so that every thread writes its own disjoint slice of the
/// output and every sum is added in the same order whatever the thread count,
/// so 1 thread and 2 threads give bit-identical results.
public enum Parallel {
    /// Threads the kernels may use. Defaults to the number of cores (capped at 8);
    /// tests set it to 1 to check determinism.
    nonisolated(unsafe) public static var threads: Int = max(1, min(8, ProcessInfo.processInfo.activeProcessorCount))

    /// Runs `body(i)` for i in 0..<count, on up to `threads` cores.
    /// Work smaller than `minWork` (a rough flop count) stays on this thread:
    /// waking a second core costs a few microseconds.
    @inline(__always)
    public static func forEach(_ count: Int, work: Int = Int.max, minWork: Int = 1 << 16, _ body: (Int) -> Void) {
        if count <= 1 || threads <= 1 || work < minWork {
            for i in 0..<count { body(i) }
        } else {
            withoutActuallyEscaping(body) { b in
                DispatchQueue.concurrentPerform(iterations: count, execute: b)
            }
        }
    }

    /// Splits 0..<n into `parts` contiguous ranges of nearly equal size.
    @inline(__always)
    public static func range(_ part: Int, of parts: Int, n: Int) -> Range<Int> {
        (part * n / parts)..<((part + 1) * n / parts)
    }
}
