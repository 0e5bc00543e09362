/// A value made on first use and kept. A lesson's steps share what they build (a model, a
/// measurement) through these, so `--step N` alone makes only what step N needs.
public final class Memo<T> {
    private let make: () throws -> T
    /// The value, if it has been made.
    public private(set) var value: T?

    public init(_ make: @escaping () throws -> T) { self.make = make }

    /// The value, made now if it has not been yet.
    public func get() throws -> T {
        if let v = value { return v }
        let v = try make()
        value = v
        return v
    }
}

/// Values made on first use, one per key (a lesson's instruct and think models, say).
/// `set` replaces a key's value, for a step that trains a fresh one.
public final class Memos<Key: Hashable, T> {
    private let make: (Key) throws -> T
    private var values: [Key: T] = [:]

    public init(_ make: @escaping (Key) throws -> T) { self.make = make }

    /// The key's value, made now if it has not been yet.
    public func get(_ key: Key) throws -> T {
        if let v = values[key] { return v }
        let v = try make(key)
        values[key] = v
        return v
    }

    public func set(_ key: Key, _ value: T) { values[key] = value }
}
