import Foundation
import MMedIO
import MMedText

/// Merges the done-markers of a filter output directory into `stats.json` and `rejected.jsonl`.
/// Everything but the `timings` section depends only on the inputs and settings.
struct StatisticsMerger {
    let job: CorpusFilterJob

    struct Result {
        var total: Tally
        var complete: Bool
        var quarantined: [Quarantine]
    }

    func merge(wallSeconds: Double) throws -> Result {
        let output = job.output
        let decoder = JSONDecoder()
        func load<T: Decodable>(_ type: T.Type, _ directory: String) throws -> [T] {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: "\(output)/\(directory)")) ?? [])
                .filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted()
            return try names.map { name in
                let bytes = try readWholeFile("\(output)/\(directory)/\(name)")
                do { return try decoder.decode(T.self, from: Data(bytes)) } catch {
                    throw FilterJobError(message: "\(output)/\(directory)/\(name): unreadable marker (\(error)); delete it to redo that unit")
                }
            }
        }
        let itemReports = try load(ItemReport.self, "items")
        let finishedItems = Set(itemReports.map(\.item))
        let quarantined = try load(Quarantine.self, "quarantine")
        // Only units of finished items count, so that a file is counted wholly or not at all.
        let units = try load(UnitReport.self, "units").filter { finishedItems.contains($0.item) }

        var total = Tally()
        var languages: [String: Tally] = [:]
        var inputs: [String: Tally] = [:]
        var reasons: [String: Int] = [:]
        var blankLines = 0
        var unitSeconds = 0.0
        var allQuarantined = quarantined
        for unit in units {
            total.add(unit.total)
            for (key, tally) in unit.languages { languages[key, default: Tally()].add(tally) }
            for (key, tally) in unit.inputs { inputs[key, default: Tally()].add(tally) }
            for (key, count) in unit.rejectReasons { reasons[key, default: 0] += count }
            blankLines += unit.blankLines
            unitSeconds += unit.seconds
            allQuarantined += unit.quarantined
        }
        let quarantinedItems = Set(quarantined.map(\.item))
        let complete = job.items.allSatisfy { finishedItems.contains($0.index) || quarantinedItems.contains($0.index) }

        func tallyObject(_ tally: Tally) -> [String: Any] {
            [
                "documents_read": tally.documentsRead, "documents_kept": tally.documentsKept,
                "documents_dropped": tally.documentsDropped, "documents_rejected": tally.documentsRejected,
                "bytes_read": tally.bytesRead, "bytes_kept": tally.bytesKept,
                "bytes_dropped": tally.bytesDropped, "bytes_rejected": tally.bytesRejected,
                "keep_rate": (tally.keepRate * 1e6).rounded() / 1e6,
            ]
        }
        var thresholds: [String: Any] = [:]
        for (language, filter) in job.configuration.filters {
            thresholds[language.rawValue] = [
                "min_mkc": filter.thresholds.minKeywordCount,
                "min_density": filter.thresholds.minDensity,
                "mode": filter.mode.rawValue,
                "keywords": filter.list.name,
                "keywords_sha256": filter.list.digest(mode: filter.mode),
                "keyword_count": filter.matcher.keywords.count,
            ] as [String: Any]
        }
        let stats: [String: Any] = [
            "complete": complete,
            "items_planned": job.items.count,
            "items_done": finishedItems.count,
            "units_done": units.count,
            "total": tallyObject(total),
            "languages": languages.mapValues(tallyObject),
            "inputs": inputs.mapValues(tallyObject),
            "reject_reasons": reasons,
            "blank_lines": blankLines,
            "quarantined": allQuarantined.map { ["file": $0.file, "error": $0.error] },
            "filters": thresholds,
            "timings": [
                "this_run_wall_seconds": (wallSeconds * 1000).rounded() / 1000,
                "unit_seconds_total": (unitSeconds * 1000).rounded() / 1000,
            ],
        ]
        let data = try JSONSerialization.data(withJSONObject: stats, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        try AtomicFileWriter.write(Array(data) + [0x0A], to: "\(output)/stats.json")

        // Once every item of every shard is done no writer can be active: temporary files that an interrupted
        // run left beside the outputs can go.
        if complete {
            for sub in ["", "kept", "dropped", "attributes", "rejected", "units", "items", "quarantine"] {
                let directory = sub.isEmpty ? output : "\(output)/\(sub)"
                for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(".") && name.contains(".tmp-") {
                    removeFile("\(directory)/\(name)")
                }
            }
        }

        // rejected.jsonl: every unit's rejects in input order.
        let merged = try AtomicFileWriter(path: "\(output)/rejected.jsonl")
        for unit in units where unit.outputs.contains("rejected/\(unit.unit).jsonl") {
            try merged.write(try readWholeFile("\(output)/rejected/\(unit.unit).jsonl"))
        }
        try merged.commit()
        return Result(total: total, complete: complete, quarantined: allQuarantined)
    }
}
