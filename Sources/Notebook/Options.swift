import Foundation

/// A bad command line. The description is the one line printed after `error: `,
/// and always names the offending flag so the user knows what to fix.
public struct UsageError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The flags every lesson understands. Parsed before any step runs, so a lesson
/// can read `nb.options.quick` / `seed` / `outDir` while it sets itself up.
public struct Options: Equatable {
    /// Tiny configuration that runs in seconds (what the tests use).
    public var quick = false
    /// Seed for every random choice the lesson makes: same seed, same numbers.
    public var seed: UInt64 = 1337
    /// Where checkpoints and reports go.
    public var outDir: String
    /// Wait for Enter between steps (for a classroom).
    public var pause = false
    /// `--step N`: run only step N (1-based).
    public var only: Int? = nil
    /// `--from N`: run steps N...end (1-based).
    public var from: Int? = nil
    /// `--variant NAME`: one of the lesson's named alternatives to its default recipe
    /// (only lessons that declare variants accept it; `Notebook` checks the name).
    public var variant: String? = nil
    public var help = false
    public var list = false
    /// `--timings FILE`: also write where the run's time went, as JSON (`course` collects these).
    public var timings: String? = nil
    /// Values of the flags only this program knows (`ExtraFlag`), by name (`--results` -> path).
    public var extra: [String: String] = [:]

    public init(outDir: String = Options.defaultOutDir()) {
        self.outDir = outDir
    }

    /// `runs` inside the package root, so checkpoints land in the same place
    /// whether the lesson is started from the root or from a subfolder.
    public static func defaultOutDir(from directory: String = FileManager.default.currentDirectoryPath) -> String {
        let root = findPackageRoot(from: directory) ?? directory
        return (root as NSString).appendingPathComponent("runs")
    }

    /// Parses the arguments *after* the program name. Both `--seed 7` and
    /// `--seed=7` work; the last occurrence of a flag wins.
    /// Step numbers are checked against the lesson's length later, in `Notebook`,
    /// because the steps are not known yet when the lesson starts.
    public static func parse(_ args: [String], extraFlags: [ExtraFlag] = [],
                             defaultOutDir: @autoclosure () -> String = Options.defaultOutDir()) throws -> Options {
        var options = Options(outDir: "")
        var outDir: String? = nil
        var flags = FlagReader(args)
        while let name = try flags.next() {
            func value() throws -> String { try flags.value() }
            func noValue() throws { try flags.noValue() }
            func stepNumber() throws -> Int {
                let v = try value()
                guard let n = Int(v), n >= 1 else {
                    throw UsageError("\(name) expects a step number (1, 2, ...), got '\(v)'")
                }
                return n
            }

            switch name {
            case "--help", "-h": try noValue(); options.help = true
            case "--list": try noValue(); options.list = true
            case "--quick": try noValue(); options.quick = true
            case "--pause": try noValue(); options.pause = true
            case "--step": options.only = try stepNumber()
            case "--from": options.from = try stepNumber()
            case "--seed":
                let v = try value()
                guard let seed = UInt64(v) else {
                    throw UsageError("--seed expects a non-negative integer, got '\(v)'")
                }
                options.seed = seed
            case "--out": outDir = try value()
            case "--variant": options.variant = try value()
            case "--timings": options.timings = try value()
            case _ where extraFlags.contains { $0.name == name }: options.extra[name] = try value()
            default: throw UsageError("unknown flag '\(name)'")
            }
        }
        if options.only != nil && options.from != nil {
            throw UsageError("--step and --from cannot be combined")
        }
        options.outDir = outDir ?? defaultOutDir()
        return options
    }
}

/// A flag that one program adds to the shared ones, with a value (course's `--results FILE`).
public struct ExtraFlag: Sendable, Equatable {
    public let name: String
    /// The value's placeholder in the usage text, e.g. `F`.
    public let value: String
    public let about: String
    /// The value is a file the program will write: checked before any step, like `--timings`.
    public let writesFile: Bool
    public init(_ name: String, value: String, about: String, writesFile: Bool = false) {
        self.name = name; self.value = value; self.about = about; self.writesFile = writesFile
    }
}

/// The flag grammar every program of the course shares (lessons, chat, make-data, course):
/// `--name value` or `--name=value`; a value is never empty and never the next flag; a
/// word that is not a flag is an error. Each program says which names it knows.
public struct FlagReader {
    let args: [String]
    var i = 0
    /// The flag being read and its `=value`, if it had one.
    public private(set) var name = ""
    var inlineValue: String? = nil

    public init(_ args: [String]) { self.args = args }

    /// The next flag's name (`--seed` of `--seed=7`), or nil when the arguments are done.
    public mutating func next() throws -> String? {
        guard i < args.count else { return nil }
        let arg = args[i]
        i += 1
        guard arg.hasPrefix("-"), arg.count > 1 else { throw UsageError("unexpected argument '\(arg)'") }
        if let eq = arg.firstIndex(of: "=") {
            name = String(arg[..<eq])
            inlineValue = String(arg[arg.index(after: eq)...])
        } else {
            name = arg
            inlineValue = nil
        }
        return name
    }

    /// The current flag's value: inline (`--x=v`) or the next argument (`--x v`).
    public mutating func value() throws -> String {
        if let v = inlineValue {
            guard !v.isEmpty else { throw UsageError("missing value for \(name)") }
            return v
        }
        guard i < args.count, !args[i].hasPrefix("--") else { throw UsageError("missing value for \(name)") }
        guard !args[i].isEmpty else { throw UsageError("\(name) needs a value, got an empty one") }
        i += 1
        return args[i - 1]
    }

    /// Refuses `--flag=value` for a flag that takes none.
    public func noValue() throws {
        if inlineValue != nil { throw UsageError("\(name) takes no value") }
    }

    /// The error for a flag the program does not know.
    public var unknown: UsageError { UsageError("unknown flag '\(name)'") }
}

/// Checks before any work that `path` (given with `flag`) is a folder this program can write
/// in, or can create: a file there, or a folder without write access, would otherwise be
/// found only when the first result is saved.
public func checkWritableFolder(_ path: String, flag: String = "--out") throws {
    let fm = FileManager.default
    var url = URL(fileURLWithPath: path).standardizedFileURL
    var isDirectory: ObjCBool = false
    if fm.fileExists(atPath: url.path, isDirectory: &isDirectory) {
        guard isDirectory.boolValue else { throw UsageError("\(flag) \(path) is a file, not a folder") }
        guard fm.isWritableFile(atPath: url.path) else { throw UsageError("\(flag) \(path): the folder is not writable") }
        return
    }
    // It does not exist yet: the nearest folder above it that does must let us create it.
    while !fm.fileExists(atPath: url.path, isDirectory: &isDirectory) {
        let parent = url.deletingLastPathComponent()
        if parent.path == url.path { break }
        url = parent
    }
    guard isDirectory.boolValue else { throw UsageError("\(flag) \(path) cannot be created: \(url.path) is a file") }
    guard fm.isWritableFile(atPath: url.path) else {
        throw UsageError("\(flag) \(path) cannot be created: \(url.path) is not writable")
    }
}

/// Checks before any work that a file can be written at `path` (given with `flag`): it is
/// not a folder, and the folder it goes in exists and can be written.
public func checkWritableFile(_ path: String, flag: String) throws {
    let fm = FileManager.default
    let url = URL(fileURLWithPath: path).standardizedFileURL
    var isDirectory: ObjCBool = false
    if fm.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
        throw UsageError("\(flag) \(path) is a folder, not a file")
    }
    let folder = url.deletingLastPathComponent()
    guard fm.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw UsageError("\(flag) \(path): there is no folder \(folder.path)")
    }
    guard fm.isWritableFile(atPath: folder.path) else { throw UsageError("\(flag) \(path): the folder \(folder.path) is not writable") }
}

/// The nearest directory at or above `directory` that holds a Package.swift.
public func findPackageRoot(from directory: String) -> String? {
    var url = URL(fileURLWithPath: directory).standardizedFileURL
    while true {
        if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
            return url.path
        }
        let parent = url.deletingLastPathComponent()
        if parent.path == url.path { return nil }
        url = parent
    }
}

/// A named alternative to a lesson's default recipe, chosen with `--variant NAME`.
public struct Variant: Equatable, Sendable {
    public let name: String
    /// One line for `--help`.
    public let about: String
    public init(_ name: String, _ about: String) { self.name = name; self.about = about }
}

/// The `--help` text, also printed after a usage error. Lessons with variants list them.
public func usageText(name: String, title: String, variants: [Variant] = [], extraFlags: [ExtraFlag] = []) -> String {
    let width = variants.map(\.name.count).max() ?? 0
    let variantLines = variants.isEmpty ? "" : "\n  --variant V   train another way (default: \(variants[0].name)); V is one of:" + variants.map {
        "\n                \($0.name.padding(toLength: width, withPad: " ", startingAt: 0))  \($0.about)"
    }.joined()
    let extraLines = extraFlags.map { f -> String in
        let head = "\(f.name) \(f.value)"
        return "\n  " + head.padding(toLength: max(13, head.count + 1), withPad: " ", startingAt: 0) + " " + f.about
    }.joined()
    return """
    \(name): \(title)

    usage: swift run \(name) [flags]

      --help        show this help and exit
      --list        list the steps and exit
      --step N      run only step N
      --from N      run steps N to the end
      --quick       tiny configuration that runs in seconds
      --seed N      random seed (default 1337); same seed, same numbers
      --pause       wait for Enter between steps
      --out DIR     where checkpoints go (default: runs/ in the package root)
      --timings F   also write where the time went (training, sampling, evaluation) to F as JSON\(extraLines)\(variantLines)

    Flags also accept the --flag=value form.

    """
}
