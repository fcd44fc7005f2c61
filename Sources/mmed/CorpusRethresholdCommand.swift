import ArgumentParser
import Foundation
import MMedCorpus
import MMedIO
import MMedText

struct CorpusRethreshold: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rethreshold",
        abstract: "Re-decide documents with new MKC/DENS thresholds from a filter run's attributes, without rescanning the text.",
        discussion: "Prints the documents kept before and after, per language. With --output DIR it also writes DIR/kept/*.jsonl.zst (the run must have used --write-dropped)."
    )

    @Argument(help: "The --output directory of `mmed corpus filter`.")
    var directory: String

    @Option(help: "New MKC threshold.")
    var minMkc: Int?

    @Option(help: "New DENS threshold.")
    var minDensity: Double?

    @Option(help: "Apply the new thresholds to this language only (default: all).")
    var lang: String?

    @Option(help: "Also write the result as JSON to this file.")
    var json: String?

    @Option(help: "Write the newly kept documents to DIR/kept/ (needs a run made with --write-dropped).")
    var output: String?

    func validate() throws {
        if minMkc == nil && minDensity == nil { throw ValidationError("give --min-mkc, --min-density or both") }
        if let lang, Language(code: lang) == nil { throw ValidationError("unknown language '\(lang)'") }
    }

    func run() throws {
        let statsPath = "\(directory)/stats.json"
        var current: [String: Thresholds] = [:]
        if let data = try? readWholeFile(statsPath),
           let stats = try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any],
           let filters = stats["filters"] as? [String: [String: Any]] {
            for (code, entry) in filters {
                if let mkc = (entry["min_mkc"] as? NSNumber)?.intValue, let density = (entry["min_density"] as? NSNumber)?.doubleValue {
                    current[code] = Thresholds(minKeywordCount: mkc, minDensity: density)
                }
            }
        }
        let only = lang.flatMap(Language.init(code:))?.rawValue
        let outcomes: [String: Rethreshold.LanguageOutcome]
        do {
            let thresholds: (String) -> Thresholds? = { code in
                if let only, code != only { return nil }
                guard let base = current[code] ?? Language(code: code).flatMap(Thresholds.paper) ?? (minMkc != nil && minDensity != nil ? Thresholds(minKeywordCount: 0, minDensity: 0) : nil) else { return nil }
                return Thresholds(minKeywordCount: minMkc ?? base.minKeywordCount, minDensity: minDensity ?? base.minDensity)
            }
            outcomes = try Rethreshold.run(directory: directory, output: output, thresholds: thresholds)
        } catch {
            throw CleanExit.message("error: \(error)", code: 1)
        }
        print("lang  documents  kept_before  kept_after  rate_before  rate_after")
        var rows: [[String: Any]] = []
        for code in outcomes.keys.sorted() {
            let o = outcomes[code]!
            let before = o.documents == 0 ? 0 : Double(o.keptBefore) / Double(o.documents)
            let after = o.documents == 0 ? 0 : Double(o.keptAfter) / Double(o.documents)
            print(code.padding(toLength: 6, withPad: " ", startingAt: 0)
                  + String(o.documents).leftPadded(9) + String(o.keptBefore).leftPadded(13) + String(o.keptAfter).leftPadded(12)
                  + String(format: "%12.2f%%", 100 * before) + String(format: "%11.2f%%", 100 * after))
            rows.append(["lang": code, "documents": o.documents, "kept_before": o.keptBefore, "kept_after": o.keptAfter])
        }
        if let json {
            let data = try JSONSerialization.data(withJSONObject: ["languages": rows, "min_mkc": minMkc as Any, "min_density": minDensity as Any],
                                                  options: [.sortedKeys, .prettyPrinted])
            try AtomicFileWriter.write(Array(data), to: json)
        }
    }
}

struct CorpusStats: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Print the statistics of a filter run (per language and totals)."
    )

    @Argument(help: "The --output directory of `mmed corpus filter`.")
    var directory: String

    func run() throws {
        guard let data = try? readWholeFile("\(directory)/stats.json"),
              let stats = try? JSONSerialization.jsonObject(with: Data(data)) as? [String: Any] else {
            throw CleanExit.message("error: \(directory)/stats.json: missing or unreadable; run `mmed corpus filter` first", code: 1)
        }
        let languages = stats["languages"] as? [String: [String: Any]] ?? [:]
        print("lang          read       kept    dropped   rejected   keep_rate    bytes_read    bytes_kept")
        func row(_ name: String, _ t: [String: Any]) {
            func n(_ key: String) -> String { String((t[key] as? NSNumber)?.int64Value ?? 0) }
            let rate = (t["keep_rate"] as? NSNumber)?.doubleValue ?? 0
            print(name.padding(toLength: 8, withPad: " ", startingAt: 0) + n("documents_read").leftPadded(10) + n("documents_kept").leftPadded(11)
                  + n("documents_dropped").leftPadded(11) + n("documents_rejected").leftPadded(11)
                  + String(format: "%11.2f%%", 100 * rate) + n("bytes_read").leftPadded(14) + n("bytes_kept").leftPadded(14))
        }
        for code in languages.keys.sorted() { row(code, languages[code]!) }
        if let total = stats["total"] as? [String: Any] { row("total", total) }
        if let complete = stats["complete"] as? Bool, !complete { print("(incomplete: some units or shards are not done)") }
        if let quarantined = stats["quarantined"] as? [[String: Any]], !quarantined.isEmpty {
            print("quarantined: " + quarantined.compactMap { $0["file"] as? String }.joined(separator: ", "))
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
