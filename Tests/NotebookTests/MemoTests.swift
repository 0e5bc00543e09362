import Dispatch
import Foundation
import Notebook
import Testing

/// `Memo` and `Memos` are what lessons and the tests' shared runs are built from; tests ask
/// for them from many threads at once.
@Suite("Memo: made once, on first use, whoever asks")
struct MemoTests {
    /// Counts calls from many threads.
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var counts: [Int: Int] = [:]
        func add(_ key: Int) { lock.withLock { counts[key, default: 0] += 1 } }
        func count(_ key: Int) -> Int { lock.withLock { counts[key, default: 0] } }
    }

    @Test("threads asking at once get one value, made once per key; a failure is not kept")
    func madeOncePerKey() throws {
        let made = Counter()
        let memos = Memos<Int, [Int]> { key in
            made.add(key)
            Thread.sleep(forTimeInterval: 0.01)  // long enough for the other threads to arrive meanwhile
            return [key, key * key]
        }
        let results = Counter()
        DispatchQueue.concurrentPerform(iterations: 32) { i in
            let key = i % 4
            if (try? memos.get(key)) == [key, key * key] { results.add(key) }
        }
        for key in 0..<4 {
            #expect(made.count(key) == 1, "key \(key) made \(made.count(key)) times")
            #expect(results.count(key) == 8)
        }
        #expect(memos.value(0) == [0, 0] && memos.value(9) == nil, "value(_:) reads only what was made")
        memos.set(9, [1])
        #expect(try memos.get(9) == [1] && made.count(9) == 0, "set keeps the value given")

        struct Flaky: Error {}
        var failures = 0
        let memo = Memo { () throws -> Int in
            failures += 1
            if failures == 1 { throw Flaky() }
            return 7
        }
        #expect(throws: Flaky.self) { try memo.get() }
        #expect(memo.value == nil)
        #expect(try memo.get() == 7 && memo.get() == 7 && failures == 2, "tried again after the failure, then kept")
    }
}
