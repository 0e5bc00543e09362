import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Advisory locks (flock) on a small file next to what they protect. The kernel drops a
/// lock when its program ends, however it ends, so a crash never leaves a folder locked.
public enum FileLock {
    /// Another program holds the lock; the message names the folder and that program.
    public struct Busy: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs `body` holding an exclusive lock on `path`, waiting while another program holds
    /// it: for a short read-modify-write that two programs may attempt at once.
    public static func withLock<T>(_ path: String, _ body: () throws -> T) throws -> T {
        let fd = try openLockFile(path)
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw Busy(description: "cannot lock \(path): \(String(cString: strerror(errno)))") }
        }
        return try body()
    }

    /// Takes the exclusive lock on `path` until this program ends, or throws `Busy` at once if
    /// another program holds it. Taking it again from this program does nothing.
    public static func holdUntilExit(_ path: String, purpose: String) throws {
        try held.withLock { table in
            if table[path] != nil { return }
            let fd = try openLockFile(path)
            guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
                let owner = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
                close(fd)
                throw Busy(description: "\(purpose) is in use by another program\(owner.isEmpty ? "" : " (pid \(owner))"): wait for it to finish, or give this one another --out folder")
            }
            let pid = Array("\(getpid())\n".utf8)
            _ = ftruncate(fd, 0)
            _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
            table[path] = fd
        }
    }

    /// The locks this program holds until it exits, by lock file.
    static let held = Guarded<[String: Int32]>([:])

    static func openLockFile(_ path: String) throws -> Int32 {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw Busy(description: "cannot open the lock file \(path): \(String(cString: strerror(errno)))") }
        return fd
    }
}

/// A value shared between threads, reached only under its lock.
final class Guarded<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
