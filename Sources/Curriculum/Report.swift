import Foundation

/// `<out>/report.json`: every stage's measured results, one object per stage:
///
///     { "base": { "val_loss_init": 4.57, "val_loss": 1.21 }, "mid": { ... } }
///
/// Each lesson replaces its own stage's entry and keeps the others, so the report
/// grows as the course runs; lesson06 prints it as the report card.
public enum Report {
    public static let fileName = "report.json"

    public struct ReportError: Error, CustomStringConvertible {
        public let description: String
    }

    /// All stages' metrics, or an empty report if the file does not exist yet.
    public static func load(from outDir: String) throws -> [String: [String: Double]] {
        let url = URL(fileURLWithPath: outDir).appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return [:] }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ReportError(description: "\(url.path): cannot be read: \(error.localizedDescription)")
        }
        guard (try? JSONSerialization.jsonObject(with: data)) != nil else {
            throw ReportError(description: "\(url.path): not valid JSON (corrupted?). Move it away and rerun the lesson.")
        }
        guard let report = try? JSONDecoder().decode([String: [String: Double]].self, from: data) else {
            throw ReportError(description: "\(url.path): not a valid report (an object of stage -> metric -> number). Move it away and rerun the lesson.")
        }
        return report
    }

    /// Replaces `stage`'s metrics, keeping every other stage. Written atomically, and read,
    /// changed and written under a lock, so two programs recording at once both keep theirs.
    public static func record(stage: String, metrics: [String: Double], in outDir: String) throws {
        let dir = URL(fileURLWithPath: outDir)
        try FileLock.withLock(dir.appendingPathComponent(lockName).path) {
            var report = try load(from: outDir)
            report[stage] = metrics.filter { $0.value.isFinite }
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(report).write(to: dir.appendingPathComponent(fileName), options: .atomic)
        }
    }

    /// The lock file `record` holds while it updates the report.
    static let lockName = ".report.json.lock"
}
