import Foundation

/// A value made on first use and kept. A lesson's steps share what they build (a model, a
/// measurement) through these, so `--step N` alone makes only what step N needs.
/// Safe to share between threads (tests run in parallel): the first caller makes the value
/// while later ones wait for it; a `make` that throws leaves nothing kept, so the next call tries again.
public final class Memo<T> {
    private let make: () throws -> T
    private let lock = NSLock()
    private var made: T?

    public init(_ make: @escaping () throws -> T) { self.make = make }

    /// A memo already holding `value`.
    init(value: T) { make = { value }; made = value }

    /// The value, if it has been made.
    public var value: T? { lock.withLock { made } }

    /// The value, made now if it has not been yet.
    public func get() throws -> T {
        try lock.withLock {
            if let v = made { return v }
            let v = try make()
            made = v
            return v
        }
    }
}

/// Values made on first use, one per key (a lesson's instruct and think models, say).
/// `set` replaces a key's value, for a step that trains a fresh one. Each key has its own
/// `Memo`, so threads asking for different keys make them at the same time.
public final class Memos<Key: Hashable, T> {
    private let make: (Key) throws -> T
    private let lock = NSLock()
    private var memos: [Key: Memo<T>] = [:]

    public init(_ make: @escaping (Key) throws -> T) { self.make = make }

    private func memo(_ key: Key) -> Memo<T> {
        lock.withLock {
            if let m = memos[key] { return m }
            let make = self.make
            let m = Memo<T> { try make(key) }
            memos[key] = m
            return m
        }
    }

    /// The key's value, made now if it has not been yet.
    public func get(_ key: Key) throws -> T { try memo(key).get() }

    /// The key's value, if it has been made.
    public func value(_ key: Key) -> T? { lock.withLock { memos[key] }?.value }

    public func set(_ key: Key, _ value: T) { lock.withLock { memos[key] = Memo(value: value) } }
}
