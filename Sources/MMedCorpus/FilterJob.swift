import Dispatch
import Foundation
import MMedIO
import MMedText
import Parquet
import Synchronization

/// Everything a `mmed corpus filter` run needs.
public struct FilterJobConfiguration: Sendable {
    public var inputs: [InputFile]
    public var outputDirectory: String
    /// The language of every document; with `languageField`, of those that lack the field (nil: they are rejected).
    public var language: Language?
    public var languageField: String?
    /// One filter per language that may occur.
    public var filters: [Language: MedicalKeywordFilter]
    public var textField = "text"
    public var idField = "id"
    public var workers = 1
    public var shardIndex = 0
    public var shardCount = 1
    public var writeDropped = false
    /// Input bytes per work unit (at most 64 MiB): what a restart may redo.
    public var unitBytes = 16 << 20

    public init(inputs: [InputFile], outputDirectory: String, language: Language?, languageField: String?,
                filters: [Language: MedicalKeywordFilter]) {
        self.inputs = inputs
        self.outputDirectory = outputDirectory
        self.language = language
        self.languageField = languageField
        self.filters = filters
    }
}

/// What a run did, for the command line.
public struct FilterRunSummary: Sendable {
    public var total: Tally
    public var complete: Bool
    public var quarantined: [Quarantine]
    public var unitsProcessed: Int
    public var unitsSkipped: Int
    public var unitsOfOtherShards: Int
    public var wallSeconds: Double
}

public struct FilterJobError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// Live counters for a progress display.
public final class FilterProgress: Sendable {
    public let totalFileBytes: Atomic<Int64> = .init(0)
    public let fileBytesRead: Atomic<Int64> = .init(0)
    public let bytesProcessed: Atomic<Int64> = .init(0)
    public let documentsScored: Atomic<Int> = .init(0)
    public let documentsKept: Atomic<Int> = .init(0)
    public init() {}
}

/// Runs the medical keyword filter over a corpus: plans work units, processes them on worker threads, writes
/// each unit's outputs atomically followed by its done-marker, and merges statistics. Re-running skips units
/// that are done; outputs do not depend on the number of workers.
public final class CorpusFilterJob: Sendable {
    public let configuration: FilterJobConfiguration
    let items: [PlanItem]

    public init(configuration: FilterJobConfiguration) {
        precondition(configuration.unitBytes > 0 && configuration.unitBytes <= 64 << 20, "unit size must be at most 64 MiB")
        self.configuration = configuration
        items = PlanItem.plan(configuration.inputs, unitBytes: configuration.unitBytes)
    }

    var output: String { configuration.outputDirectory }

    var workSettings: WorkPlanSettings {
        var settings = WorkPlanSettings(inputs: configuration.inputs, outputDirectory: output)
        settings.workers = configuration.workers
        settings.shardIndex = configuration.shardIndex
        settings.shardCount = configuration.shardCount
        settings.unitBytes = configuration.unitBytes
        return settings
    }

    /// The settings that must match for a re-run to reuse an output directory.
    func manifest() -> [String: Any] {
        let languages = configuration.filters.keys.sorted()
        var filters: [String: Any] = [:]
        for language in languages {
            let filter = configuration.filters[language]!
            filters[language.rawValue] = [
                "keywords": filter.list.name,
                "keywords_sha256": filter.list.digest(mode: filter.mode),
                "keyword_count": filter.matcher.keywords.count,
                "min_mkc": filter.thresholds.minKeywordCount,
                "min_density": filter.thresholds.minDensity,
                "mode": filter.mode.rawValue,
            ] as [String: Any]
        }
        return [
            "format": "mmedkit-corpus-filter/1",
            "inputs": configuration.inputs.map { ["path": $0.path, "format": $0.format.rawValue, "compression": $0.compression.rawValue] },
            "language": configuration.language?.rawValue ?? NSNull(),
            "language_field": configuration.languageField ?? NSNull(),
            "text_field": configuration.textField,
            "id_field": configuration.idField,
            "unit_bytes": configuration.unitBytes,
            "write_dropped": configuration.writeDropped,
            "filters": filters,
        ]
    }

    private func prepareOutputDirectory() throws {
        for sub in ["", "kept", "attributes", "rejected", "units", "items", "quarantine"] + (configuration.writeDropped ? ["dropped"] : []) {
            try createDirectories(sub.isEmpty ? output : "\(output)/\(sub)")
        }
        let manifestPath = "\(output)/run.json"
        let data = try JSONSerialization.data(withJSONObject: manifest(), options: [.sortedKeys, .prettyPrinted])
        if fileExists(manifestPath) {
            let existing = try readWholeFile(manifestPath)
            if existing != Array(data) {
                let old = (try? JSONSerialization.jsonObject(with: Data(existing))) as? [String: Any] ?? [:]
                let new = manifest()
                let differing = new.keys.sorted().filter { key in
                    let a = try? JSONSerialization.data(withJSONObject: [key: new[key]!], options: .sortedKeys)
                    let b = old[key].flatMap { try? JSONSerialization.data(withJSONObject: [key: $0], options: .sortedKeys) }
                    return a != b
                }
                throw FilterJobError(message: "\(output) holds a run made with other settings (\(differing.isEmpty ? "run.json" : differing.joined(separator: ", ")) differ); use a new --output directory, or delete it to start over")
            }
        } else {
            try AtomicFileWriter.write(Array(data), to: manifestPath)
        }
    }

    /// Runs this shard's share of the work.
    public func run(progress: FilterProgress? = nil) throws -> FilterRunSummary {
        let started = DispatchTime.now()
        try prepareOutputDirectory()
        let runner = WorkRunner(settings: workSettings, items: items, processor: FilterUnitProcessor(job: self, progress: progress))
        let counts: WorkRunCounts
        do { counts = try runner.run(progress: progress) } catch let error as WorkRunError {
            throw FilterJobError(message: error.message)
        }
        let merged = try StatisticsMerger(job: self).merge(wallSeconds: seconds(since: started))
        return FilterRunSummary(total: merged.total, complete: merged.complete, quarantined: merged.quarantined,
                                unitsProcessed: counts.unitsProcessed,
                                unitsSkipped: counts.unitsSkipped,
                                unitsOfOtherShards: counts.unitsOfOtherShards,
                                wallSeconds: seconds(since: started))
    }

    /// Removes what the units of a quarantined item wrote.
    func removeUnitOutputs(ofItem item: Int) {
        for sub in ["kept", "dropped", "attributes", "rejected"] {
            removeFiles(in: "\(output)/\(sub)", withPrefix: PlanItem.name(item) + "-")
        }
    }
}

/// The filter's side of the work-unit machinery: a unit's records are scored and written by `UnitWriter`.
struct FilterUnitProcessor: WorkUnitProcessor {
    let job: CorpusFilterJob
    let progress: FilterProgress?

    func prepareParquet(_ file: ParquetFile, input: InputFile) throws -> ParquetColumns {
        try ParquetColumns(file: file, configuration: job.configuration)
    }

    func process(_ unit: WorkUnit<ParquetColumns>) throws -> UnitReport {
        switch unit.source {
        case .lines(let chunk, let file):
            return try job.processLines(chunk, file: file, item: unit.item, unit: unit.name, progress: progress)
        case .files(let files):
            return try job.processGroup(files, item: unit.item, unit: unit.name, progress: progress)
        case .parquetRowGroup(let group):
            return try job.processParquetRowGroup(file: group.file, columns: group.context, rowGroup: group.rowGroup,
                                                  firstRow: group.firstRow, input: group.input, item: unit.item,
                                                  unit: unit.name, progress: progress)
        }
    }

    func removeOutputs(ofItem item: Int) { job.removeUnitOutputs(ofItem: item) }
}

extension FilterProgress: WorkProgressReporting {
    public func setTotalFileBytes(_ bytes: Int64) { totalFileBytes.store(bytes, ordering: .relaxed) }
    public func addFileBytesRead(_ bytes: Int64) { fileBytesRead.add(bytes, ordering: .relaxed) }
}
