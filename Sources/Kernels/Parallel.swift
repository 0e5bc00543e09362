import Dispatch
import Foundation
import Synchronization

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
    /// Work smaller than `minWork` (a rough flop count) stays on this thread.
    ///
    /// The other cores are `WorkerPool`'s threads, which spin while work keeps coming:
    /// waking a sleeping thread costs tens of microseconds on a virtual machine, as
    /// much as a whole small matmul, so a woken helper made small steps no faster.
    @inline(__always)
    public static func forEach(_ count: Int, work: Int = Int.max, minWork: Int = 1 << 16, _ body: (Int) -> Void) {
        if count <= 1 || threads <= 1 || work < minWork {
            for i in 0..<count { body(i) }
        } else {
            WorkerPool.shared.run(count, helpers: threads - 1, body)
        }
    }

    /// Splits 0..<n into `parts` contiguous ranges of nearly equal size.
    @inline(__always)
    public static func range(_ part: Int, of parts: Int, n: Int) -> Range<Int> {
        (part * n / parts)..<((part + 1) * n / parts)
    }
}

/// Helper threads that run `body(i)` for the indices of one job alongside the caller.
///
/// A job is published as one atomic word, `ticket`: its generation (bits 40 and up), its
/// index count (bits 20-39) and the next unclaimed index (bits 0-19). Every thread, the caller included, claims an index
/// by compare-and-swap and runs it, so which thread runs which index does not matter
/// (each index writes its own slice): the numbers are the same whoever runs them.
/// A helper that finds no new job spins for about a millisecond, then sleeps on a
/// semaphore until the next job wakes it.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool(helpers: max(0, min(8, ProcessInfo.processInfo.activeProcessorCount) - 1))

    private let ticket = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    /// One job at a time: a second caller (tests run in parallel) runs its job alone.
    private let busy = Atomic<Bool>(false)
    /// A helper thread's flag "I am asleep" and the semaphore that wakes it.
    private final class Helper: Sendable {
        let sleeping = Atomic<Bool>(false)
        let wake = DispatchSemaphore(value: 0)
    }
    private let helpers: [Helper]
    /// The current job, written before its ticket is published, read after an index is claimed.
    nonisolated(unsafe) private var body: ((Int) -> Void)?

    private init(helpers: Int) {
        self.helpers = (0..<helpers).map { _ in Helper() }
        for h in self.helpers.indices {
            let thread = Thread { [unowned self] in self.helperLoop(self.helpers[h]) }
            thread.name = "Kernels.Parallel \(h + 1)"
            thread.start()
        }
    }

    @inline(__always) private static func generation(_ t: Int) -> Int { t >> 40 }
    @inline(__always) private static func count(_ t: Int) -> Int { (t >> 20) & 0xF_FFFF }
    @inline(__always) private static func index(_ t: Int) -> Int { t & 0xF_FFFF }

    /// Runs body(0..<count) on this thread and up to `helpers` pool threads.
    func run(_ count: Int, helpers: Int, _ body: (Int) -> Void) {
        guard helpers > 0, !self.helpers.isEmpty, count < 1 << 20, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { b in
            self.body = b
            finished.store(0, ordering: .relaxed)
            let g = Self.generation(ticket.load(ordering: .relaxed)) + 1
            ticket.store(g << 40 | count << 20, ordering: .sequentiallyConsistent)
            for h in self.helpers.prefix(helpers) where h.sleeping.exchange(false, ordering: .sequentiallyConsistent) {
                h.wake.signal()
            }
            work(generation: g)
            // A helper may still be running an index; if it was preempted (more threads than
            // cores), give the core away instead of spinning through its time slice.
            var spins = 0
            while finished.load(ordering: .acquiring) < count {
                spins += 1
                if spins > 256 { sched_yield() }
            }
            self.body = nil
        }
        busy.store(false, ordering: .releasing)
    }

    /// Claims and runs indices of job `g` until none is left.
    private func work(generation g: Int) {
        var t = ticket.load(ordering: .acquiring)
        while Self.generation(t) == g {
            let i = Self.index(t)
            if i >= Self.count(t) { return }
            let (won, now) = ticket.compareExchange(expected: t, desired: t + 1, ordering: .acquiringAndReleasing)
            if !won { t = now; continue }
            // Index i is ours and not done, so the job cannot have finished: `body` is its own.
            call(i)
            finished.add(1, ordering: .releasing)
            t = ticket.load(ordering: .acquiring)
        }
    }

    /// Not inlined: the closure is released before `finished` counts the index, so the
    /// caller's `withoutActuallyEscaping` finds it unshared.
    @inline(never) private func call(_ i: Int) { body?(i) }

    private func helperLoop(_ h: Helper) {
        var seen = 0
        while true {
            var spins = 0
            var start = DispatchTime.now().uptimeNanoseconds
            while Self.generation(ticket.load(ordering: .acquiring)) == seen {
                spins += 1
                // Spinning keeps this core awake for the next job, but lets any other
                // runnable thread (another process, a test) have it first.
                if spins & 15 == 0 { sched_yield() }
                if spins & 1023 != 0 { continue }
                let now = DispatchTime.now().uptimeNanoseconds
                if now - start < 1_000_000 { continue }
                // Idle for a millisecond: sleep until a job arrives (re-checking after
                // saying so, so a job published meanwhile is not missed).
                h.sleeping.store(true, ordering: .sequentiallyConsistent)
                if Self.generation(ticket.load(ordering: .sequentiallyConsistent)) != seen {
                    // A job came: if its caller already took our flag, it signalled; consume that.
                    if !h.sleeping.exchange(false, ordering: .sequentiallyConsistent) { h.wake.wait() }
                    break
                }
                h.wake.wait()
                start = DispatchTime.now().uptimeNanoseconds
            }
            seen = Self.generation(ticket.load(ordering: .acquiring))
            work(generation: seen)
        }
    }
}
