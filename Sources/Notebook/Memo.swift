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
