import Foundation
import Testing
import Curriculum

/// The GUIDE's exercises name their checks as `swift test --filter ...` commands: each must
/// select a test that exists, or a student's check would pass by running nothing.
@Suite("GUIDE checks")
struct GuideChecksTests {
    /// Every suite type and test function declared under Tests/, by file.
    static func declarations(_ root: URL) throws -> [(file: String, names: Set<String>)] {
        let tests = root.appendingPathComponent("Tests")
        guard let walk = FileManager.default.enumerator(at: tests, includingPropertiesForKeys: nil) else { return [] }
        var out: [(String, Set<String>)] = []
        let pattern = try NSRegularExpression(pattern: #"\b(?:struct|func)\s+([A-Za-z_][A-Za-z0-9_]*)"#)
        for case let url as URL in walk where url.pathExtension == "swift" {
            let text = try String(contentsOf: url, encoding: .utf8)
            let range = NSRange(text.startIndex..., in: text)
            let names = pattern.matches(in: text, range: range).compactMap { Range($0.range(at: 1), in: text).map { String(text[$0]) } }
            out.append((url.deletingPathExtension().lastPathComponent, Set(names)))
        }
        return out
    }

    /// The filters of every `swift test --filter ...` in the text, quotes removed.
    static func filters(in guide: String) throws -> [String] {
        let pattern = try NSRegularExpression(pattern: #"swift test --filter (?:"([^"]+)"|([^\s`]+))"#)
        let range = NSRange(guide.startIndex..., in: guide)
        return pattern.matches(in: guide, range: range).compactMap { m in
            (Range(m.range(at: 1), in: guide) ?? Range(m.range(at: 2), in: guide)).map { String(guide[$0]) }
        }
    }

    @Test("every `swift test --filter` the GUIDE gives selects tests that exist")
    func everyCheckSelectsATest() throws {
        let root = try #require(DataFiles.packageRoot(from: URL(fileURLWithPath: #filePath)), "cannot find the package root")
        let guide = try String(contentsOf: root.appendingPathComponent("GUIDE.md"), encoding: .utf8)
        let files = try Self.declarations(root)
        let filters = try Self.filters(in: guide)
        #expect(filters.count > 30, "found \(filters.count) checks")
        for filter in filters {
            // "Suite/(a|b)" names functions of one suite; anything else is a part of a name.
            let parts = filter.split(separator: "/", maxSplits: 1).map(String.init)
            let suite = parts[0].split(separator: ".").last.map(String.init) ?? parts[0]
            let holders = files.filter { f in f.file.contains(suite) || f.names.contains { $0.contains(suite) } }
            #expect(!holders.isEmpty, "`--filter \(filter)`: no suite or test is named like \(suite)")
            guard parts.count == 2 else { continue }
            let wanted = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "()")).split(separator: "|").map(String.init)
            for name in wanted {
                #expect(holders.contains { f in f.names.contains { $0.hasPrefix(name) } },
                        "`--filter \(filter)`: \(suite) has no test named \(name)...")
            }
        }
    }
}
