import Dispatch
import Foundation
import MMedIO
import MMedText
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

/// A plan item: one JSONL file, or a group of consecutive text files; items are split into work units.
struct PlanItem: Sendable {
    enum Kind: Sendable {
        /// One JSONL file, read once and cut into units of `unitBytes`.
        case stream
        /// Consecutive small files (JSONL or text), read whole into one unit.
        case group
        /// One Parquet file; each row group is a unit.
        case parquet
    }
    var index: Int
    var kind: Kind
    var files: [InputFile]
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
        var items: [PlanItem] = []
        var group: [InputFile] = []
        var groupBytes: Int64 = 0
        let unitBytes = Int64(configuration.unitBytes)
        func flushGroup() {
            if !group.isEmpty { items.append(PlanItem(index: items.count, kind: .group, files: group)) }
            group = []
            groupBytes = 0
        }
        for file in configuration.inputs {
            // A compressed file's size is scaled by 8 as an estimate of what it decompresses to.
            let estimate = file.compression == .none ? file.size : file.size * 8
            if file.format == .parquet {
                flushGroup()
                items.append(PlanItem(index: items.count, kind: .parquet, files: [file]))
                continue
            }
            if file.format == .jsonl && estimate > unitBytes / 4 {
                flushGroup()
                items.append(PlanItem(index: items.count, kind: .stream, files: [file]))
                continue
            }
            // Small JSONL files and text files share units, so that many small files do not make as many units.
            if !group.isEmpty && (groupBytes + estimate > unitBytes || group.count >= 4096) { flushGroup() }
            group.append(file)
            groupBytes += estimate
        }
        flushGroup()
        self.items = items
    }

    var output: String { configuration.outputDirectory }

    /// With at least as many plan items as shards, whole items (files) go to shards, so that no shard reads
    /// another's files. With fewer, the units of every item are spread across the shards: each shard reads the
    /// item and scores the units that are its own (a single large file still splits across machines).
    var shardsByUnit: Bool { items.count < configuration.shardCount }

    /// Whether this shard does the unit (`chunk` given) or takes part in the item (`chunk` nil).
    func isMine(item: Int, chunk: Int?) -> Bool {
        let count = configuration.shardCount
        if count == 1 { return true }
        if shardsByUnit {
            guard let chunk else { return true }
            return (item + chunk) % count == configuration.shardIndex
        }
        return item % count == configuration.shardIndex
    }

    static func unitName(item: Int, chunk: Int) -> String {
        let itemText = String(item), chunkText = String(chunk)
        return String(repeating: "0", count: max(0, 6 - itemText.count)) + itemText + "-"
            + String(repeating: "0", count: max(0, 6 - chunkText.count)) + chunkText
    }

    static func itemName(_ item: Int) -> String {
        let text = String(item)
        return String(repeating: "0", count: max(0, 6 - text.count)) + text
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
        let mine = items.filter { isMine(item: $0.index, chunk: nil) }
        let pending = mine.filter { !fileExists("\(output)/items/\(Self.itemName($0.index)).json") }
        progress?.totalFileBytes.store(pending.reduce(0) { $0 + $1.files.reduce(0) { $0 + $1.size } }, ordering: .relaxed)

        let state = RunState(workers: max(1, configuration.workers))
        // Readers decompress and cut files into units; one reader per four workers keeps many cores fed
        // (one zstd stream decompresses at about 1.5 GB/s). Each reader takes the next pending item.
        let readerCount = min(pending.count, max(1, (configuration.workers + 3) / 4))
        let nextItem = Atomic<Int>(0)
        let readers = DispatchGroup()
        for _ in 0..<readerCount {
            readers.enter()
            let thread = Thread {
                defer { readers.leave() }
                while !state.failed {
                    let position = nextItem.add(1, ordering: .relaxed).oldValue
                    guard position < pending.count else { break }
                    self.read(pending[position], state: state, progress: progress)
                }
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        readers.wait()
        state.all.wait()
        if let failure = state.failures.withLock({ $0.first }) {
            throw FilterJobError(message: failure)
        }
        let merged = try StatisticsMerger(job: self).merge(wallSeconds: seconds(since: started))
        return FilterRunSummary(total: merged.total, complete: merged.complete, quarantined: merged.quarantined,
                                unitsProcessed: state.processed.load(ordering: .relaxed),
                                unitsSkipped: state.skipped.load(ordering: .relaxed),
                                unitsOfOtherShards: state.otherShards.load(ordering: .relaxed),
                                wallSeconds: seconds(since: started))
    }

    /// Reads one plan item and hands its units to the workers.
    private func read(_ item: PlanItem, state: RunState, progress: FilterProgress?) {
        // A quarantine left by an earlier run is retried: the file may have been replaced.
        removeFile("\(output)/quarantine/\(Self.itemName(item.index)).json")
        if item.kind == .stream {
            readJSONLItem(item, state: state, progress: progress)
            return
        }
        if item.kind == .parquet {
            readParquetItem(item, state: state, progress: progress)
            return
        }
        let unit = Self.unitName(item: item.index, chunk: 0)
        let itemGroup = DispatchGroup()
        if fileExists("\(output)/units/\(unit).json") {
            state.skipped.add(1, ordering: .relaxed)
        } else if !isMine(item: item.index, chunk: 0) {
            state.otherShards.add(1, ordering: .relaxed)
        } else {
            state.slots.wait()
            DispatchQueue.global().async(group: itemGroup) {
                defer { state.slots.signal() }
                self.runUnit(unit, state: state) { try self.processGroup(item, unit: unit, progress: progress) }
            }
        }
        finishItem(item, units: [unit], quarantine: { nil }, group: itemGroup, state: state)
    }

    /// Runs a unit and writes its done-marker; a body that returns nil (its file was quarantined) leaves none.
    func runUnit(_ unit: String, state: RunState, _ body: () throws -> UnitReport?) {
        if state.failed { return }
        do {
            guard let report = try body() else { return }
            let data = try JSONEncoder.sorted.encode(report)
            try AtomicFileWriter.write(Array(data), to: "\(output)/units/\(unit).json")
            state.processed.add(1, ordering: .relaxed)
        } catch {
            state.fail("unit \(unit): \(error)")
        }
    }

    /// Reads a JSONL file once, cutting it into units of the lines that start in each `unitBytes` range of the
    /// decompressed stream, and hands the units that are not done to the workers. Decompressed blocks are
    /// copied whole into a unit buffer; a unit ends at the first "\n" at or after its range's last byte.
    private func readJSONLItem(_ item: PlanItem, state: RunState, progress: FilterProgress?) {
        let file = item.files[0]
        let itemGroup = DispatchGroup()
        var units: [String] = []
        var quarantine: Quarantine?
        do {
            let source = try openByteSource(path: file.path, compression: file.compression)
            let unitBytes = Int64(configuration.unitBytes)
            var buffer = state.buffers.take(capacity: configuration.unitBytes + (4 << 20))
            var bufferOffset: Int64 = 0        // stream offset of buffer[0], always a line start
            var nextLine = 1                   // line number of buffer[0]
            var searchFrom = 0                 // bytes of the buffer already known to hold no boundary newline
            var lastReported: Int64 = 0

            func emit(length: Int, endsWithNewline: Bool) {
                let index = Int(bufferOffset / unitBytes)
                let unit = Self.unitName(item: item.index, chunk: index)
                units.append(unit)
                let bytes = UnsafeRawBufferPointer(start: buffer.base, count: length)
                let lineCount = countOccurrences(of: 0x0A, in: bytes) + (endsWithNewline ? 0 : 1)
                if fileExists("\(output)/units/\(unit).json") {
                    state.skipped.add(1, ordering: .relaxed)
                    buffer.removeFirst(length)
                } else if !isMine(item: item.index, chunk: index) {
                    state.otherShards.add(1, ordering: .relaxed)
                    buffer.removeFirst(length)
                } else {
                    // The unit takes the buffer; the bytes after it move to a fresh one.
                    let next = state.buffers.take(capacity: configuration.unitBytes + (4 << 20))
                    next.append(UnsafeRawBufferPointer(start: buffer.base + length, count: buffer.count - length))
                    buffer.count = length
                    let lines = LineChunk(storage: UnitBytes(buffer), firstLine: nextLine, firstOffset: bufferOffset,
                                          lastLineHasNewline: endsWithNewline)
                    buffer = next
                    state.slots.wait()
                    DispatchQueue.global().async(group: itemGroup) {
                        defer {
                            state.buffers.give(lines.storage.buffer)
                            state.slots.signal()
                        }
                        self.runUnit(unit, state: state) {
                            try self.processLines(lines, file: file, item: item.index, unit: unit, progress: progress)
                        }
                    }
                }
                bufferOffset += Int64(length)
                nextLine += lineCount
                searchFrom = 0
            }

            while try source.append(to: buffer, atMost: 4 << 20) > 0 {   // decompressed straight into the unit buffer
                if state.failed { break }
                // Cut every complete unit now in the buffer.
                while true {
                    let unitEnd = (bufferOffset / unitBytes + 1) * unitBytes   // first offset of the next range
                    let boundaryByte = Int(unitEnd - 1 - bufferOffset)         // relative index of the range's last byte
                    let start = max(boundaryByte, searchFrom)
                    guard start < buffer.count else { break }
                    guard let found = memchr(buffer.base + start, 0x0A, buffer.count - start) else {
                        searchFrom = buffer.count
                        break
                    }
                    emit(length: UnsafeMutableRawPointer(found) - buffer.base + 1, endsWithNewline: true)
                }
                let consumed = source.fileBytesConsumed
                if consumed - lastReported >= 1 << 20 {
                    progress?.fileBytesRead.add(consumed - lastReported, ordering: .relaxed)
                    lastReported = consumed
                }
            }
            if !state.failed && buffer.count > 0 {
                let endsWithNewline = buffer.bytes[buffer.count - 1] == 0x0A
                if !endsWithNewline { buffer.append(0x0A) }   // the worker splits on "\n"; bytes are counted without it
                emit(length: buffer.count, endsWithNewline: endsWithNewline)
            }
            state.buffers.give(buffer)
            progress?.fileBytesRead.add(source.fileBytesConsumed - lastReported, ordering: .relaxed)
        } catch let error as MMedIOError where error.kind == .corruptCompressed || error.kind == .truncatedCompressed {
            quarantine = Quarantine(item: item.index, file: file.path, error: error.description)
        } catch {
            quarantine = Quarantine(item: item.index, file: file.path, error: "\(error)")
        }
        if state.failed { return }
        finishItem(item, units: units, quarantine: { [quarantine] in quarantine }, group: itemGroup, state: state)
    }

    /// When the item's units are all done, writes its marker, or for a quarantined file removes what its units
    /// wrote, so that a file counts wholly or not at all. `quarantine` is asked once the units have finished
    /// (a worker may find a Parquet file corrupt).
    func finishItem(_ item: PlanItem, units: [String], quarantine: @escaping @Sendable () -> Quarantine?, group: DispatchGroup, state: RunState) {
        state.all.enter()
        group.notify(queue: state.markerQueue) {
            defer { state.all.leave() }
            if state.failed { return }
            do {
                if let quarantine = quarantine() {
                    self.removeUnits(ofItem: item.index)
                    let data = try JSONEncoder.sorted.encode(quarantine)
                    try AtomicFileWriter.write(Array(data), to: "\(self.output)/quarantine/\(Self.itemName(item.index)).json")
                    return
                }
                // Units of other shards may still be pending; the shard that sees them all done writes the marker.
                guard units.allSatisfy({ fileExists("\(self.output)/units/\($0).json") }) else { return }
                let report = ItemReport(item: item.index, inputs: item.files.map(\.path), units: units)
                let data = try JSONEncoder.sorted.encode(report)
                try AtomicFileWriter.write(Array(data), to: "\(self.output)/items/\(Self.itemName(item.index)).json")
            } catch {
                state.fail("item \(item.index): \(error)")
            }
        }
    }

    private func removeUnits(ofItem item: Int) {
        let prefix = Self.itemName(item) + "-"
        for sub in ["kept", "dropped", "attributes", "rejected", "units"] {
            let directory = "\(output)/\(sub)"
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            for name in names where name.hasPrefix(prefix) { removeFile("\(directory)/\(name)") }
        }
    }
}

/// Shared state of one run.
final class RunState: Sendable {
    let slots: DispatchSemaphore
    let all = DispatchGroup()
    let markerQueue = DispatchQueue(label: "mmed.filter.markers")
    let failures = Mutex<[String]>([])
    let failedFlag = Atomic<Bool>(false)
    let processed = Atomic<Int>(0)
    let skipped = Atomic<Int>(0)
    /// Units left to other shards.
    let otherShards = Atomic<Int>(0)
    let buffers = BufferPool()

    init(workers: Int) { slots = DispatchSemaphore(value: workers) }

    var failed: Bool { failedFlag.load(ordering: .relaxed) }

    func fail(_ message: String) {
        failures.withLock { $0.append(message) }
        failedFlag.store(true, ordering: .relaxed)
    }
}

/// The bytes of one unit, handed from the reader to one worker.
/// `@unchecked Sendable`: the reader gives the buffer up when it creates this and never touches it again; exactly
/// one worker reads it, then returns it to the pool.
final class UnitBytes: @unchecked Sendable {
    let buffer: ByteBuffer
    init(_ buffer: ByteBuffer) { self.buffer = buffer }
}

/// Reusable unit buffers, so that each unit does not fault in fresh pages.
final class BufferPool: Sendable {
    private let free = Mutex<[UnitBytes]>([])

    func take(capacity: Int) -> ByteBuffer {
        if let reused = free.withLock({ $0.popLast() }) {
            reused.buffer.removeAll()
            return reused.buffer
        }
        return ByteBuffer(capacity: capacity)
    }

    func give(_ buffer: ByteBuffer) {
        free.withLock { $0.append(UnitBytes(buffer)) }
    }
}

/// Complete lines of one unit, each followed by "\n".
struct LineChunk: Sendable {
    var storage: UnitBytes
    var firstLine: Int
    var firstOffset: Int64
    /// Whether the unit's last line ended in "\n" in the input (false only at the end of a file).
    var lastLineHasNewline: Bool
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

func seconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}
