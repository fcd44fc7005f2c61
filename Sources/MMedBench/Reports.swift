import Foundation
import MMedIO
import MMedText

/// One row of a report: a run's name and its per-language figures (missing languages are nil).
public struct ReportRow: Sendable {
    public var name: String
    public var mode: ScoreMode
    public var accuracy: [Language: Double]
    public var bleu: [Language: Double]
    public var rouge: [Language: Double]

    public init(name: String, score: BenchScore) {
        self.name = name
        mode = score.mode
        accuracy = [:]; bleu = [:]; rouge = [:]
        for entry in score.languages {
            accuracy[entry.language] = entry.accuracy
            if entry.rationaleItems > 0 {
                bleu[entry.language] = entry.bleu(score.mode) * 100
                rouge[entry.language] = entry.rouge(score.mode) * 100
            }
        }
    }

    public init(name: String, mode: ScoreMode, accuracy: [Language: Double], bleu: [Language: Double], rouge: [Language: Double]) {
        self.name = name; self.mode = mode; self.accuracy = accuracy; self.bleu = bleu; self.rouge = rouge
    }

    static func mean(_ values: [Language: Double]) -> Double? {
        values.isEmpty ? nil : values.values.reduce(0, +) / Double(values.count)
    }
    public var averageAccuracy: Double? { Self.mean(accuracy) }
    public var averageBLEU: Double? { Self.mean(bleu) }
    public var averageROUGE: Double? { Self.mean(rouge) }
}

/// The paper's layout: a row per run, columns English … Spanish and the unweighted average over languages.
public enum BenchReport {
    static func cell(_ value: Double?) -> String { value.map { fixed($0, 2) } ?? "–" }

    static func names(_ mode: ScoreMode) -> (bleu: String, rouge: String) {
        mode == .paper ? ("BLEU-1", "ROUGE-1") : ("BLEU-4", "ROUGE-L")
    }

    /// Plain-text tables: accuracy, then the rationale metrics when any run has them.
    public static func table(_ rows: [ReportRow]) -> String {
        let width = max(12, rows.map(\.name.count).max() ?? 0)
        let header = pad("", width) + BenchLanguages.all.map { pad($0.englishName, 9, right: true) }.joined() + pad("Avg.", 9, right: true)
        var out: [String] = []
        func section(_ title: String, _ values: (ReportRow) -> [Language: Double], _ average: (ReportRow) -> Double?) {
            out.append(title)
            out.append(header)
            for row in rows {
                out.append(pad(row.name, width) + BenchLanguages.all.map { pad(cell(values(row)[$0]), 9, right: true) }.joined()
                    + pad(cell(average(row)), 9, right: true))
            }
            out.append("")
        }
        section("Accuracy (%)", \.accuracy, \.averageAccuracy)
        if rows.contains(where: { !$0.bleu.isEmpty }) {
            let labels = names(rows[0].mode)
            section("\(labels.bleu) (×100)", \.bleu, \.averageBLEU)
            section("\(labels.rouge) F (×100)", \.rouge, \.averageROUGE)
        }
        return out.joined(separator: "\n")
    }

    public static func markdown(_ rows: [ReportRow]) -> String {
        let labels = names(rows.first?.mode ?? .paper)
        var lines = ["| Model | " + BenchLanguages.all.map(\.englishName).joined(separator: " | ") + " | Avg. |",
                     "|---|" + String(repeating: "---:|", count: BenchLanguages.all.count + 1)]
        func add(_ suffix: String, _ values: (ReportRow) -> [Language: Double], _ average: (ReportRow) -> Double?) {
            for row in rows {
                lines.append("| \(row.name)\(suffix) | " + BenchLanguages.all.map { cell(values(row)[$0]) }.joined(separator: " | ")
                    + " | \(cell(average(row))) |")
            }
        }
        add(" (accuracy)", \.accuracy, \.averageAccuracy)
        if rows.contains(where: { !$0.bleu.isEmpty }) {
            add(" (\(labels.bleu))", \.bleu, \.averageBLEU)
            add(" (\(labels.rouge))", \.rouge, \.averageROUGE)
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public static func csv(_ rows: [ReportRow]) -> String {
        var lines = ["model,metric," + BenchLanguages.all.map(\.englishName).joined(separator: ",") + ",average"]
        func quote(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        for row in rows {
            let labels = names(row.mode)
            for (metric, values, average) in [("accuracy", row.accuracy, row.averageAccuracy), (labels.bleu, row.bleu, row.averageBLEU),
                                              (labels.rouge, row.rouge, row.averageROUGE)] where !values.isEmpty {
                lines.append(quote(row.name) + "," + metric + "," + BenchLanguages.all.map { values[$0].map { fixed($0, 4) } ?? "" }.joined(separator: ",")
                    + "," + (average.map { fixed($0, 4) } ?? ""))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A grouped bar chart of accuracy per language (and the average), one colour per run.
    public static func svg(_ rows: [ReportRow], title: String = "MMedBench accuracy (%)") -> String {
        let groups = BenchLanguages.all.map(\.englishName) + ["Avg."]
        let palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]
        let left = 50.0, top = 40.0, plotHeight = 260.0
        let barWidth = 14.0, gap = 18.0
        let groupWidth = max(60, Double(max(1, rows.count)) * barWidth + gap)  // room for the language names
        let width = left + Double(groups.count) * groupWidth + 20
        let legendHeight = Double(rows.count) * 18 + 10
        let height = top + plotHeight + 40 + legendHeight
        func escape(_ text: String) -> String {
            text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
        }
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" font-family="sans-serif" font-size="11">
            <rect width="100%" height="100%" fill="white"/>
            <text x="\(left)" y="22" font-size="14">\(escape(title))</text>

            """
        for tick in stride(from: 0, through: 100, by: 20) {
            let y = top + plotHeight * (1 - Double(tick) / 100)
            svg += "<line x1=\"\(left)\" y1=\"\(fixed(y, 1))\" x2=\"\(fixed(width - 20, 1))\" y2=\"\(fixed(y, 1))\" stroke=\"#ddd\"/>"
            svg += "<text x=\"\(left - 6)\" y=\"\(fixed(y + 4, 1))\" text-anchor=\"end\">\(tick)</text>\n"
        }
        for (g, group) in groups.enumerated() {
            let x0 = left + Double(g) * groupWidth + (groupWidth - Double(rows.count) * barWidth) / 2
            for (r, row) in rows.enumerated() {
                let value = g < BenchLanguages.all.count ? row.accuracy[BenchLanguages.all[g]] : row.averageAccuracy
                guard let value else { continue }
                let h = plotHeight * min(100, max(0, value)) / 100
                svg += "<rect x=\"\(fixed(x0 + Double(r) * barWidth, 1))\" y=\"\(fixed(top + plotHeight - h, 1))\" width=\"\(fixed(barWidth - 2, 1))\" height=\"\(fixed(h, 1))\" fill=\"\(palette[r % palette.count])\"><title>\(escape(row.name)) \(group): \(fixed(value, 2))</title></rect>\n"
            }
            svg += "<text x=\"\(fixed(x0 + Double(rows.count) * barWidth / 2, 1))\" y=\"\(fixed(top + plotHeight + 16, 1))\" text-anchor=\"middle\">\(group)</text>\n"
        }
        for (r, row) in rows.enumerated() {
            let y = top + plotHeight + 40 + Double(r) * 18
            svg += "<rect x=\"\(left)\" y=\"\(fixed(y - 10, 1))\" width=\"12\" height=\"12\" fill=\"\(palette[r % palette.count])\"/>"
            svg += "<text x=\"\(left + 18)\" y=\"\(fixed(y, 1))\">\(escape(row.name))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// The score as JSON: run, per-language figures (rationale metrics as means in 0…1) and the averages.
    public static func json(_ score: BenchScore, name: String) -> JSONValue {
        func number(_ value: Double?) -> JSONValue { value.map { .number($0) } ?? .null }
        let languages: [(key: String, value: JSONValue)] = score.languages.map { entry in
            (entry.language.rawValue, .object([
                ("language", .string(entry.language.englishName)), ("items", .number(Double(entry.items))),
                ("correct", .number(Double(entry.correct))), ("accuracy", .number(entry.accuracy)),
                ("unparseable", .number(Double(entry.unparseable))), ("rationale_items", .number(Double(entry.rationaleItems))),
                ("empty_rationales", .number(Double(entry.emptyRationales))),
                ("bleu1", entry.rationaleItems > 0 ? .number(entry.bleu1) : .null),
                ("bleu4", entry.rationaleItems > 0 ? .number(entry.bleu4) : .null),
                ("rouge1_f", entry.rationaleItems > 0 ? .number(entry.rouge1) : .null),
                ("rouge2_f", entry.rationaleItems > 0 ? .number(entry.rouge2) : .null),
                ("rougeL_f", entry.rationaleItems > 0 ? .number(entry.rougeL) : .null),
            ]))
        }
        return .object([
            ("name", .string(name)), ("mode", .string(score.mode.rawValue)), ("extraction", .string(score.extraction.rawValue)),
            ("model", .string(score.model)), ("backend", .string(score.backend)),
            ("sources", .array(score.sources.map { .string($0) })),
            ("items", .number(Double(score.items.count))), ("seconds", .number(score.seconds)),
            ("languages", .object(languages)),
            ("average", .object([
                ("accuracy", number(score.average { $0.accuracy })),
                ("bleu", number(score.average({ $0.bleu(score.mode) }, rationale: true))),
                ("rouge", number(score.average({ $0.rouge(score.mode) }, rationale: true))),
            ])),
        ])
    }

    /// Reads a score.json back into a report row (for `mmed bench compare`).
    public static func row(fromScoreJSON value: JSONValue, file: String) throws -> ReportRow {
        guard let modeText = value["mode"]?.string, let mode = ScoreMode(rawValue: modeText),
              let languages = value["languages"]?.members else {
            throw BenchFormatError(file: file, "not a score.json written by mmed bench score")
        }
        var accuracy: [Language: Double] = [:], bleu: [Language: Double] = [:], rouge: [Language: Double] = [:]
        for (code, entry) in languages {
            guard let language = Language(code: code) else { continue }
            accuracy[language] = entry["accuracy"]?.number
            bleu[language] = entry[mode == .paper ? "bleu1" : "bleu4"]?.number.map { $0 * 100 }
            rouge[language] = entry[mode == .paper ? "rouge1_f" : "rougeL_f"]?.number.map { $0 * 100 }
        }
        let name = value["name"]?.string ?? ((file as NSString).deletingLastPathComponent as NSString).lastPathComponent
        return ReportRow(name: name, mode: mode, accuracy: accuracy, bleu: bleu, rouge: rouge)
    }

    /// Per-item scores, one JSON line each.
    public static func itemLines(_ score: BenchScore) -> String {
        var text = ""
        for item in score.items {
            var members: [(key: String, value: JSONValue)] = [
                ("id", .string(item.id)), ("language", .string(item.language.rawValue)),
                ("predicted", item.predicted.map { .array($0.map { .string($0) }) } ?? .null), ("correct", .bool(item.correct)),
            ]
            if let r = item.rationale {
                members += [("bleu1", .number(r.bleu1)), ("bleu4", .number(r.bleu4)), ("rouge1_f", .number(r.rouge1)),
                            ("rouge2_f", .number(r.rouge2)), ("rougeL_f", .number(r.rougeL)), ("empty_rationale", .bool(r.empty))]
            }
            text += JSONValue.object(members).jsonText + "\n"
        }
        return text
    }
}
