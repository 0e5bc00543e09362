import Foundation
import Kernels
import Notebook
import TinyGPT

/// The report card: every stage of the course in one table (stages x metrics), what each
/// stage cost (its loss on the held-out pretraining text, its training time and tokens),
/// each stage's training curves, and, from lesson06, every stage's answers to the same
/// prompts. Written as `<run>/report.md` and a self-contained `<run>/report.html` (inline
/// SVG, no script, nothing fetched), and printed by lesson06 and at the end of `swift run course`.
///
/// Everything that differs from stage to stage is in two tables below, `entries` and
/// `metrics`: adding a stage, or a metric, is a line in one of them.
public enum ReportCard {
    // MARK: the tables

    /// Trains a stage (and whatever it builds on) if its checkpoint is missing, else loads it.
    public typealias LoadOrTrain = (_ run: RunDirectory, _ quick: Bool, _ seed: UInt64, _ say: (String) -> Void,
                                    _ progress: @escaping (TrainProgress) -> Void) throws -> GPT

    /// One column of the card: a stage, and what the report needs to know about it.
    public struct Entry {
        public let stage: Stage
        /// The stage it starts from. This stage's lesson measured that model too (as
        /// `<metric>_before`), which fills the gaps in the starting stage's column.
        public let from: Stage?
        public let prompting: Compare.Prompting
        /// The metrics that say what this stage bought, shown "before -> after" when measured both ways.
        public let headline: [String]
        /// What the stage changes and why, in plain words (no numbers: those come from the run).
        public let changed: String
        /// nil: this package cannot make the stage yet; without a checkpoint it is "not run yet".
        public let loadOrTrain: LoadOrTrain?
    }

    /// The stages, in course order.
    public static let entries: [Entry] = [
        Entry(stage: .base, from: nil, prompting: .text, headline: ["val_loss", "fact_recall"], changed: """
            Pretraining: predict the next character of toy-world stories, every token weighted 1. \
            Spelling, the shape of a story and the world's facts come along because they make the \
            text predictable. Answering does not: a question is just more text to continue.
            """, loadOrTrain: { try Pretrain.loadOrTrain(run: $0, quick: $1, seed: $2, say: $3, progress: $4) }),
        Entry(stage: .mid, from: .base, prompting: .text, headline: ["arith_acc", "long_loss", "text_loss"], changed: """
            Mid-training: the same objective on a denser diet (sums, facts as questions and answers, \
            long documents, and replayed stories) with the context doubled. Reading past the old \
            context comes quickly; a skill that needs much practice, like direct sums, comes slowly. \
            The replayed stories are what keep the story loss from rising much.
            """, loadOrTrain: { try Midtrain.loadOrTrain(run: $0, quick: $1, seed: $2, say: $3, progress: $4) }),
        Entry(stage: .instruct, from: .mid, prompting: .chat, headline: ["format_rate", "string_task_acc", "multistep_acc", "facts_kept"], changed: """
            Instruct SFT: conversations in the chat template, with the loss on the assistant's tokens \
            only. What it learns first is the format: answer, then <|end|>, and never write the \
            user's turn. What it knows still comes from base and mid; SFT brings it to the surface.
            """, loadOrTrain: { try SFT.loadOrTrain(.instruct, run: $0, quick: $1, seed: $2, say: $3, progress: $4) }),
        Entry(stage: .think, from: .mid, prompting: .chat, headline: ["format_rate", "string_task_acc", "multistep_acc", "think_rate", "facts_kept"], changed: """
            Think SFT: the same questions, mostly answered with a <think> trace first (column by \
            column for sums, letter by letter for words), then the answer. More tokens per problem \
            means more computation per problem; a trace pays off only if its first clause copies the \
            right digits.
            """, loadOrTrain: { try SFT.loadOrTrain(.think, run: $0, quick: $1, seed: $2, say: $3, progress: $4) }),
        Entry(stage: .dpo, from: .think, prompting: .chat, headline: ["pref_acc", "concise_rate", "refusal_rate", "task_acc", "kl", "facts_kept"], changed: """
            DPO: pairs of answers, one preferred, scored against a frozen copy of the think model. A \
            signed weight on each answer's tokens raises the preferred one relative to that reference: \
            concise answers to simple questions, refusals of harmful ones. It reshapes what the model \
            already writes far more easily than it teaches something new; the KL says how far it moved.
            """, loadOrTrain: { try DPO.loadOrTrain(run: $0, quick: $1, seed: $2, say: $3, progress: $4) }),
        Entry(stage: .rlvr, from: .dpo, prompting: .chat, headline: ["pass1", "pass8", "kl", "mean_len", "facts_kept"], changed: """
            RLVR: the model answers each arithmetic problem several times, a verifier grades every \
            answer, and answers better than their group's average are reinforced, with a KL term \
            holding the model near where it started. Nobody writes the right answer for it: it must \
            produce one itself before it can be rewarded.
            """, loadOrTrain: { try GRPO.loadOrTrain(run: $0, quick: $1, seed: $2, say: $3, progress: $4) }),
        // Lesson08 runs after the comparison, so lesson06 shows this column only once it exists.
        Entry(stage: .tools, from: .dpo, prompting: .tools, headline: ["call_format_rate", "mult_acc_tools", "lookup_fact_acc", "needless_call_rate"], changed: """
            Tool use: two new tokens, and SFT on conversations that call a calculator or a lookup \
            and read the result. The call's tokens are trained, the result's are not: the model \
            learns to write a call and to read an answer, never to invent one. What the weights \
            cannot do (long products) or forgot (facts), the tools still can.
            """, loadOrTrain: nil),
    ]

    public static func entry(_ stage: Stage) -> Entry? { entries.first { $0.stage == stage } }

    /// How a metric's number is written.
    public enum Format: Sendable {
        case loss, rate, number, count, seconds

        public func callAsFunction(_ v: Double) -> String {
            switch self {
            case .loss: return fmt(v)
            case .rate: return pct(v)
            case .number: return fmt(v, 2)
            case .count: return formatNumber(v)
            case .seconds: return formatDuration(v)
            }
        }
    }

    /// One row of the card: a report.json key and how to show it.
    public struct Metric: Sendable {
        public let key: String
        public let title: String
        public let format: Format
        /// The key under which a lesson recorded the same measurement of its starting model.
        public let before: String?
        /// The `before` number describes the starting model itself, so the card may show it in
        /// that stage's column. (Not so for numbers relative to a reference, such as preference accuracy.)
        public let fillsStart: Bool
        /// A row of the card (false: only a headline).
        public let inCard: Bool

        public init(_ key: String, _ title: String, _ format: Format, before: String? = nil, fillsStart: Bool = true,
                    inCard: Bool = true) {
            self.key = key; self.title = title; self.format = format
            self.before = before ?? key + "_before"; self.fillsStart = fillsStart; self.inCard = inCard
        }
    }

    /// The key of the loss on the held-out pretraining text, measured by `gather` on every checkpoint.
    public static let textLossKey = "story_loss_now"

    /// The card's rows, in order, and the headline-only metrics.
    public static let metrics: [Metric] = [
        Metric(textLossKey, "held-out story loss (nats/char)", .loss),
        Metric("val_loss", "held-out story loss", .loss, before: "val_loss_init", inCard: false),
        Metric("text_loss", "held-out story loss", .loss, inCard: false),
        Metric("fact_recall", "toy-world facts completed", .rate),
        Metric("arith_acc", "2-digit sums right (as text)", .rate),
        Metric("long_loss", "loss past the old context", .loss),
        Metric("format_rate", "chat format followed", .rate),
        Metric("task_acc", "basic tasks right", .rate),
        Metric("string_task_acc", "string tasks right", .rate),
        Metric("multistep_acc", "multi-step sums right", .rate),
        Metric("facts_kept", "held-out facts mid knew, still known", .rate),
        Metric("think_rate", "replies opening a <think>", .rate),
        Metric("pref_acc", "preference accuracy", .number, fillsStart: false),
        Metric("refusal_rate", "harmful requests refused", .rate),
        Metric("over_refusal_rate", "safe look-alikes refused", .rate),
        Metric("concise_rate", "simple questions, concise", .rate),
        Metric("trace_rate", "problems a trace helps, with one", .rate),
        Metric("pass1", "RL problems right, greedy (pass@1)", .rate),
        Metric("pass8", "RL problems right in 8 tries (pass@8)", .rate),
        Metric("mean_len", "reply length on RL problems (tokens)", .number),
        Metric("kl", "KL to its start (nats/token)", .number),
        Metric("call_format_rate", "tool calls well formed", .rate, fillsStart: false),
        Metric("mult_acc_tools", "3-digit x 2-digit products right", .rate, before: "mult_acc_no_tools"),
        Metric("lookup_fact_acc", "held-out facts via lookup", .rate, fillsStart: false),
        Metric("needed_call_rate", "questions needing a tool, called", .rate, fillsStart: false),
        Metric("needless_call_rate", "questions needing none, called", .rate, fillsStart: false),
        Metric("claims_confirmed", "ablation claims confirmed", .count, fillsStart: false),
        Metric("claims_total", "ablation claims tested", .count, fillsStart: false),
        Metric("train_tokens", "tokens trained on", .count),
        Metric("train_seconds", "training time", .seconds),
    ]

    public static func metric(_ key: String) -> Metric? { metrics.first { $0.key == key } }

    // MARK: gathering

    /// Everything the report shows, read from a run directory (and measured on its checkpoints).
    public struct Card {
        /// report.json: stage -> metric -> number.
        public var report: [String: [String: Double]]
        /// Each checkpoint's loss on the held-out pretraining text, measured now.
        public var textLoss: [Stage: Double] = [:]
        /// How often its most likely next token on that text is a special token (`Compare.specialGuessRate`).
        public var specialGuess: [Stage: Double] = [:]
        /// Recorded training curves (a stage trained before curves were kept has none).
        public var curves: [Stage: Curves] = [:]
        /// lesson06's prompts, and each stage's answers to them.
        public var prompts: [Compare.Prompt] = []
        public var answers: [Stage: [Compare.Answer]] = [:]
        public var runPath: String
        public var quick: Bool

        public init(report: [String: [String: Double]], runPath: String, quick: Bool) {
            self.report = report; self.runPath = runPath; self.quick = quick
        }

        /// A stage's number for a metric: its own lesson's measurement, or (for the starting model
        /// of a later stage) the later lesson's `_before` measurement of it.
        public func value(_ m: Metric, _ stage: Stage) -> Double? {
            if m.key == textLossKey { return textLoss[stage] }
            if let v = report[stage.rawValue]?[m.key] { return v }
            guard m.fillsStart, let before = m.before else { return nil }
            for e in entries where e.stage != stage && e.from == stage {
                if let v = report[e.stage.rawValue]?[before] { return v }
            }
            return nil
        }

        /// Whether the stage has a checkpoint or a report entry.
        public func hasRun(_ stage: Stage) -> Bool { textLoss[stage] != nil || report[stage.rawValue] != nil }

        /// report.json entries that are not stages of the course (lesson07's ablation runs, say):
        /// shown as extra columns, with their recorded numbers only.
        public var otherRuns: [String] {
            report.keys.filter { Stage(rawValue: $0) == nil }.sorted()
        }
    }

    /// Reads report.json and every stage's curves, and measures every checkpoint present on the
    /// held-out pretraining text. `models` are used instead of loading their checkpoints. Trains nothing.
    public static func gather(run: RunDirectory, quick: Bool, models: [Stage: GPT] = [:]) throws -> Card {
        var card = Card(report: try Report.load(from: run.path), runPath: run.path, quick: quick)
        var batches: [Batch]?
        for e in entries {
            card.curves[e.stage] = try Curves.load(e.stage, from: run)
            let model = try models[e.stage]
                ?? (FileManager.default.fileExists(atPath: run.checkpoint(e.stage)) ? loadStage(e.stage, from: run).0 : nil)
            if let model {
                if batches == nil { batches = try Compare.textBatches(quick: quick) }
                card.textLoss[e.stage] = evaluateLoss(model, batches ?? [])
                card.specialGuess[e.stage] = Compare.specialGuessRate(model, batches ?? [])
            }
        }
        return card
    }

    // MARK: the tables, as rows of text

    /// The card: one row per metric that some column has, one column per stage (and other run).
    public static func table(_ card: Card) -> (header: [String], rows: [[String]]) {
        let stages = entries.map(\.stage)
        let others = card.otherRuns
        var rows: [[String]] = []
        for m in metrics where m.inCard {
            let cells = stages.map { s in card.value(m, s).map(m.format.callAsFunction) ?? "–" }
                + others.map { r in card.report[r]?[m.key].map(m.format.callAsFunction) ?? "–" }
            if cells.contains(where: { $0 != "–" }) { rows.append([m.title] + cells) }
        }
        return (["metric"] + stages.map(\.rawValue) + others, rows)
    }

    /// What each stage cost: its held-out story loss now, the change from the stage it started
    /// from, how often it expects special tokens in a story, and the compute it trained for.
    public static func costTable(_ card: Card) -> (header: [String], rows: [[String]]) {
        let rows = entries.map { e -> [String] in
            let loss = card.textLoss[e.stage]
            let start = e.from.flatMap { card.textLoss[$0] }
            let change = loss.flatMap { l in start.map { (l - $0 >= 0 ? "+" : "") + fmt(l - $0) } } ?? "–"
            let m = card.report[e.stage.rawValue] ?? [:]
            return [e.stage.rawValue, loss.map { fmt($0) } ?? "–", change, card.specialGuess[e.stage].map(pct) ?? "–",
                    m["train_seconds"].map(formatDuration) ?? "–", m["train_tokens"].map(formatNumber) ?? "–"]
        }
        return (["stage", "held-out story loss", "change from its start", "top guess special", "training time", "tokens"], rows)
    }

    /// "format followed 0% -> 100%, basic tasks right 20%": a stage's headline numbers.
    public static func headline(_ card: Card, _ e: Entry) -> String {
        let m = card.report[e.stage.rawValue] ?? [:]
        return e.headline.compactMap { key -> String? in
            guard let metric = metric(key), let after = m[key] else { return nil }
            let before = metric.before.flatMap { m[$0] }
            return metric.title + " " + (before.map { metric.format($0) + " -> " } ?? "") + metric.format(after)
        }.joined(separator: ", ")
    }

    /// Why a stage has no numbers: nil if it has run.
    public static func missing(_ card: Card, _ e: Entry) -> String? {
        card.hasRun(e.stage) ? nil : "not run yet: swift run \(e.stage.lesson)\(card.quick ? " --quick" : "")"
    }

    /// A chart's curves, in words: "train 4.58 -> 0.65, held-out 4.61 -> 0.62 (600 steps)".
    public static func summary(_ curves: Curves, chart: String) -> String {
        let series = curves.series.filter { $0.chart == chart }
        let steps = series.compactMap(\.steps.last).max() ?? 0
        return series.compactMap { s -> String? in
            guard let first = s.values.first, let last = s.values.last else { return nil }
            return "\(s.name) \(formatNumber(first)) -> \(formatNumber(last))"
        }.joined(separator: ", ") + " (\(steps) steps)"
    }

    /// The line shown instead of a stage's curves when none were recorded.
    public static func noCurves(_ e: Entry) -> String {
        "curves not recorded: rerun \(e.stage.lesson) (its checkpoint was written before curves were kept, or it has not run)"
    }

    /// An answer on one line: line breaks as ⏎, cut to `limit` characters.
    public static func oneLine(_ s: String, _ limit: Int = 80) -> String {
        let flat = s.replacingOccurrences(of: "\n", with: "⏎")
        return flat.count > limit ? String(flat.prefix(limit - 1)) + "…" : flat
    }

    // MARK: report.md

    /// A Markdown table: numeric columns right-aligned (as in the terminal's tables), `|`
    /// inside a cell escaped, line breaks shown as ⏎. Cells are Markdown already (see `markdownText`).
    public static func markdownTable(_ header: [String], _ rows: [[String]]) -> String {
        let rows = rows.map { $0 + Array(repeating: "", count: max(0, header.count - $0.count)) }
        func cell(_ s: String) -> String {
            s.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: "⏎")
        }
        func line(_ cells: [String]) -> String { "| " + cells.map(cell).joined(separator: " | ") + " |" }
        let rule = "|" + header.indices.map { c -> String in
            let cells = rows.map { $0[c] }.filter { !["", "–", "-"].contains($0) }
            return !cells.isEmpty && cells.allSatisfy(isNumericCell) ? "---:|" : "---|"
        }.joined()
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n") + "\n"
    }

    /// Prose for Markdown: special tokens such as <think> or <|end|> become code (`<think>`),
    /// which a Markdown viewer would otherwise take for HTML and hide.
    public static func markdownText(_ s: String) -> String {
        s.replacingOccurrences(of: "<[^<> ]+>", with: "`$0`", options: .regularExpression)
    }

    /// Text shown exactly as the model wrote it: a code span (empty replies say so).
    public static func markdownCode(_ s: String) -> String {
        if s.trimmingCharacters(in: .whitespaces).isEmpty { return "(nothing)" }
        return s.contains("`") ? "`` \(s) ``" : "`\(s)`"
    }

    public static func markdown(_ card: Card) -> String {
        var md = "# Report card\n\n"
        md += "Run: `\(card.runPath)` (\(card.quick ? "quick: the tiny model; its sums are carry-free" : "default: the classroom model")). "
        md += "Charts of every stage's training curves are in report.html, next to this file.\n\n"
        md += "## Every stage, every metric\n\n"
        let t = table(card)
        md += markdownTable(t.header.map(markdownText), t.rows.map { $0.map(markdownText) })
        md += "\nEach stage's numbers come from its own lesson; a stage's column may also show what a later lesson "
        md += "measured on it as its starting model (e.g. base's sums, measured by lesson02). "
        md += "The held-out story loss is measured now, on every checkpoint, on the same held-out pretraining text.\n\n"
        for e in entries {
            if let why = missing(card, e) { md += "- **\(e.stage.rawValue)**: \(why)\n" }
        }
        md += "\n## What each stage cost\n\n"
        let c = costTable(card)
        md += markdownTable(c.header, c.rows)
        md += "\nThe story loss rising after base is forgetting: every later stage trains on something else. "
        md += "\"Top guess special\": the share of story positions where the model's most likely next token is a "
        md += "special token such as `<|end|>`, almost never right in a story.\n"
        if !card.prompts.isEmpty {
            md += "\n## Same prompts, every stage\n\n"
            md += "Greedy decoding. Base and mid continue the prompt as text; the chat stages answer it as a user turn.\n"
            for (i, p) in card.prompts.enumerated() {
                md += "\n**\(p.kind.title)**: \(markdownCode(p.text)) (right: \(markdownText(p.expected)))\n\n"
                let rows = entries.compactMap { e -> [String]? in
                    guard let a = card.answers[e.stage]?[i] else { return nil }
                    return [e.stage.rawValue, markdownCode(oneLine(a.text, 120)) + (a.unfinished ? " (no `<|end|>`)" : ""),
                            a.right ? "yes" : "no"]
                }
                md += markdownTable(["stage", "answer", "right?"], rows)
            }
        }
        md += "\n## What changed at each stage\n\n"
        for e in entries {
            md += "### \(e.stage.rawValue) (\(e.stage.lesson))\n\n\(markdownText(e.changed))\n\n"
            if let why = missing(card, e) {
                md += "*\(why)*\n\n"
                continue
            }
            let h = headline(card, e)
            if !h.isEmpty { md += "Measured: \(markdownText(h)).\n\n" }
            if let curves = card.curves[e.stage] {
                for chart in curves.charts { md += "- \(markdownText(chart)): \(summary(curves, chart: chart))\n" }
                md += "\n"
            } else {
                md += "*\(noCurves(e))*\n\n"
            }
        }
        return md
    }

    // MARK: report.html

    static let style = """
        body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
        table { border-collapse: collapse; margin: 0.8em 0; font-size: 14px; }
        th, td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: right; }
        th:first-child, td:first-child, td.text { text-align: left; }
        td.text { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; max-width: 640px; overflow-wrap: anywhere; }
        .missing { color: #a33; font-style: italic; }
        .charts { display: flex; flex-wrap: wrap; gap: 12px; }
        svg { background: #fff; border: 1px solid #eee; }
        svg text { font-size: 11px; fill: #333; font-family: Helvetica, Arial, sans-serif; }
        svg .title { font-size: 13px; font-weight: bold; }
        svg .ytick { text-anchor: end; dominant-baseline: middle; }
        svg .xtick { text-anchor: middle; }
        svg .xlabel { text-anchor: end; }
        svg .frame { fill: none; stroke: #999; }
        svg .grid { stroke: #eee; }
        """

    static func htmlTable(_ header: [String], _ rows: [[String]], textColumns: Set<Int> = []) -> String {
        var h = "<table>\n<tr>" + header.map { "<th>\(escapeXML($0))</th>" }.joined() + "</tr>\n"
        for row in rows {
            h += "<tr>" + row.enumerated().map { i, c in
                "<td\(textColumns.contains(i) ? " class=\"text\"" : "")>\(escapeXML(c))</td>"
            }.joined() + "</tr>\n"
        }
        return h + "</table>\n"
    }

    /// The whole report as one HTML page: no script, no link, no external file; charts are inline SVG.
    public static func html(_ card: Card) -> String {
        var h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Report card</title>\n"
        h += "<style>\n\(style)\n</style>\n</head>\n<body>\n<h1>Report card</h1>\n"
        h += "<p>Run: <code>\(escapeXML(card.runPath))</code> (\(card.quick ? "quick: the tiny model; its sums are carry-free" : "default: the classroom model")).</p>\n"
        h += "<h2>Every stage, every metric</h2>\n"
        let t = table(card)
        h += htmlTable(t.header, t.rows)
        h += "<p>Each stage's numbers come from its own lesson; a stage's column may also show what a later lesson "
        h += "measured on it as its starting model. The held-out story loss is measured now, on every checkpoint, "
        h += "on the same held-out pretraining text.</p>\n"
        for e in entries {
            if let why = missing(card, e) { h += "<p class=\"missing\">\(escapeXML(e.stage.rawValue)): \(escapeXML(why))</p>\n" }
        }
        h += "<h2>What each stage cost</h2>\n"
        let c = costTable(card)
        let bars = entries.compactMap { e -> (label: String, value: Double, text: String)? in
            guard let loss = card.textLoss[e.stage] else { return nil }
            let row = c.rows.first { $0.first == e.stage.rawValue }
            let change = row.map { $0[2] } ?? "–"
            return (e.stage.rawValue, loss, fmt(loss) + (change == "–" ? "" : " (\(change))"))
        }
        if !bars.isEmpty {
            h += "<div class=\"charts\">" + svgBarChart(title: "held-out story loss, nats per character (lower: less forgotten)", bars: bars) + "</div>\n"
        }
        h += htmlTable(c.header, c.rows)
        h += "<p>The story loss rising after base is forgetting: every later stage trains on something else. "
        h += "&ldquo;Top guess special&rdquo;: the share of story positions where the model's most likely next token "
        h += "is a special token such as &lt;|end|&gt;, almost never right in a story.</p>\n"
        if !card.prompts.isEmpty {
            h += "<h2>Same prompts, every stage</h2>\n<p>Greedy decoding. Base and mid continue the prompt as text; the chat stages answer it as a user turn.</p>\n"
            for (i, p) in card.prompts.enumerated() {
                h += "<h3>\(escapeXML(p.kind.title)): <code>\(escapeXML(p.text))</code></h3>\n<p>Right: \(escapeXML(p.expected))</p>\n"
                let rows = entries.compactMap { e -> [String]? in
                    guard let a = card.answers[e.stage]?[i] else { return nil }
                    return [e.stage.rawValue, oneLine(a.text, 200) + (a.unfinished ? " (no <|end|>)" : ""), a.right ? "yes" : "no"]
                }
                h += htmlTable(["stage", "answer", "right?"], rows, textColumns: [1])
            }
        }
        h += "<h2>What changed at each stage</h2>\n"
        for e in entries {
            h += "<h3>\(escapeXML(e.stage.rawValue)) (\(escapeXML(e.stage.lesson)))</h3>\n<p>\(escapeXML(e.changed))</p>\n"
            if let why = missing(card, e) {
                h += "<p class=\"missing\">\(escapeXML(why))</p>\n"
                continue
            }
            let line = headline(card, e)
            if !line.isEmpty { h += "<p>Measured: \(escapeXML(line)).</p>\n" }
            guard let curves = card.curves[e.stage] else {
                h += "<p class=\"missing\">\(escapeXML(noCurves(e)))</p>\n"
                continue
            }
            h += "<div class=\"charts\">\n"
            for chart in curves.charts {
                let series = curves.series.filter { $0.chart == chart }.map { s in
                    (name: s.name, points: zip(s.steps, s.values).map { (x: Double($0.0), y: $0.1) })
                }
                h += svgLineChart(title: "\(e.stage.rawValue): \(chart)", series: series) + "\n"
            }
            h += "</div>\n"
        }
        return h + "</body>\n</html>\n"
    }

    // MARK: the files

    /// Writes report.md and report.html into the run directory (each atomically) and returns their paths.
    @discardableResult
    public static func write(_ card: Card, to run: RunDirectory) throws -> (markdown: String, html: String) {
        let dir = URL(fileURLWithPath: run.path)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let md = dir.appendingPathComponent("report.md"), page = dir.appendingPathComponent("report.html")
        try Data(markdown(card).utf8).write(to: md, options: .atomic)
        try Data(html(card).utf8).write(to: page, options: .atomic)
        return (md.path, page.path)
    }
}
