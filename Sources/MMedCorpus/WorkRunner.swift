import Dispatch
import Foundation
import MMedIO
import Parquet
import Synchronization

// The work-unit machinery of corpus jobs (`mmed corpus filter`, `mmed pretrain prepare`): inputs are planned into
// items (a large JSONL file, a group of small files, a Parquet file), items are cut into units, units run on worker
// threads, and each finished unit leaves a done-marker, so that a re-run redoes only what did not finish. What a unit
// does with its records is the job's (`WorkUnitProcessor`); markers live in the job's output directory:
// `units/<item>-<chunk>.json`, `items/<item>.json`, `quarantine/<item>.json`.

/// The settings of the work-unit machinery.
public struct WorkPlanSettings: Sendable {
    public var inputs: [InputFile]
    public var outputDirectory: String
    /// Threads that process units.
    public var workers = 1
    public var shardIndex = 0
    public var shardCount = 1
    /// Input bytes per work unit (at most 64 MiB): what a restart may redo.
    public var unitBytes = 16 << 20

    public init(inputs: [InputFile], outputDirectory: String) {
        self.inputs = inputs
        self.outputDirectory = outputDirectory
    }
}

/// A plan item: one JSONL file, a group of consecutive small files, or a Parquet file; items are cut into work units.
public struct PlanItem: Sendable {
    public enum Kind: Sendable {
        /// One JSONL file, read once and cut into units of `unitBytes`.
        case stream
        /// Consecutive small files (JSONL or text), read whole into one unit.
        case group
        /// One Parquet file; each row group is a unit.
        case parquet
    }
    public var index: Int
    public var kind: Kind
    public var files: [InputFile]

    /// Plans `inputs` (in their order) into items. Small JSONL files and text files share units, up to `unitBytes`
    /// or 4,096 files, so that a million small files do not become a million units.
    public static func plan(_ inputs: [InputFile], unitBytes: Int) -> [PlanItem] {
        var items: [PlanItem] = []
        var group: [InputFile] = []
        var groupBytes: Int64 = 0
        let unitBytes = Int64(unitBytes)
        func flushGroup() {
            if !group.isEmpty { items.append(PlanItem(index: items.count, kind: .group, files: group)) }
            group = []
            groupBytes = 0
        }
        for file in inputs {
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
            if !group.isEmpty && (groupBytes + estimate > unitBytes || group.count >= 4096) { flushGroup() }
            group.append(file)
            groupBytes += estimate
        }
        flushGroup()
        return items
    }

    /// The item's name in marker files: its index, six digits.
    public static func name(_ item: Int) -> String {
        let text = String(item)
        return String(repeating: "0", count: max(0, 6 - text.count)) + text
    }

    /// A unit's name, `<item>-<chunk>`, six digits each: names sort in input order.
    public static func unitName(item: Int, chunk: Int) -> String {
        name(item) + "-" + name(chunk)
    }
}

/// Complete JSONL lines of one unit, each followed by "\n". The bytes are lent for the duration of
/// `WorkUnitProcessor.process` only.
public struct LineChunk: Sendable {
    var storage: UnitBytes
    /// 1-based line number of the first line.
    public var firstLine: Int
    /// Offset of the first line in the decompressed stream.
    public var firstOffset: Int64
    /// Whether the unit's last line ended in "\n" in the input (false only at the end of a file).
    public var lastLineHasNewline: Bool

    /// The lines, each ending in "\n" (one was added after a last line that lacked it).
    public var bytes: UnsafeRawBufferPointer { storage.buffer.bytes }
}

/// One Parquet row group handed to a unit, with what the job's `prepareParquet` made of the file.
public struct ParquetRowGroupUnit<Context: Sendable>: Sendable {
    public var file: ParquetFile
    public var context: Context
    public var rowGroup: Int
    /// Index in the file of the row group's first row.
    public var firstRow: Int64
    public var input: InputFile
}

/// A work unit: its name (`<item>-<chunk>`, in input order), its plan item, and its records' source.
public struct WorkUnit<ParquetContext: Sendable>: Sendable {
    public enum Source: Sendable {
        /// Lines cut from one large JSONL file.
        case lines(LineChunk, file: InputFile)
        /// Small files (JSONL or text), each to be read whole by the processor, which quarantines a corrupt
        /// compressed one alone (it is then counted nowhere).
        case files([InputFile])
        /// One row group of a Parquet file.
        case parquetRowGroup(ParquetRowGroupUnit<ParquetContext>)
    }
    public var name: String
    public var item: Int
    public var chunk: Int
    public var source: Source
}

/// What a job does with its units. Processing must depend only on the unit (never on other units or on the number
/// of workers), and must write its outputs atomically before it returns: the runner then writes the unit's marker.
public protocol WorkUnitProcessor: Sendable {
    /// The unit's report, stored as its done-marker `units/<unit>.json`.
    associatedtype Report: Encodable
    /// What the job needs of a Parquet file (its columns), made once per file.
    associatedtype ParquetContext: Sendable

    /// Prepares a Parquet file before its row groups are handed out; throwing quarantines the file.
    func prepareParquet(_ file: ParquetFile, input: InputFile) throws -> ParquetContext
    /// Processes one unit. A `ParquetError` from a row group quarantines the file; other errors stop the run.
    func process(_ unit: WorkUnit<ParquetContext>) throws -> Report
    /// Removes what the units of `item` wrote (the runner removes their markers): the item was quarantined, so that
    /// a file counts wholly or not at all.
    func removeOutputs(ofItem item: Int)
}

/// Counters of input bytes, which the runner keeps up to date for a progress display.
public protocol WorkProgressReporting: AnyObject, Sendable {
    func setTotalFileBytes(_ bytes: Int64)
    func addFileBytesRead(_ bytes: Int64)
}

/// What a run of the runner did.
public struct WorkRunCounts: Sendable {
    public var unitsProcessed: Int
    public var unitsSkipped: Int
    public var unitsOfOtherShards: Int
}

/// A run that could not finish (a unit failed for a reason other than a corrupt input).
public struct WorkRunError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// Runs a job's work units: plans are items, this shard's pending items are read by reader threads, their units are
/// processed on `workers` threads, and markers record what is done. Re-running skips done units; an item whose file
/// turned out corrupt is quarantined (its units' outputs and markers removed) and retried on the next run.
public struct WorkRunner<Processor: WorkUnitProcessor>: Sendable {
    public let settings: WorkPlanSettings
    public let items: [PlanItem]
    let processor: Processor

    public init(settings: WorkPlanSettings, items: [PlanItem], processor: Processor) {
        precondition(settings.unitBytes > 0 && settings.unitBytes <= 64 << 20, "unit size must be at most 64 MiB")
        self.settings = settings
        self.items = items
        self.processor = processor
    }

    var output: String { settings.outputDirectory }

    /// With at least as many plan items as shards, whole items (files) go to shards, so that no shard reads
    /// another's files. With fewer, the units of every item are spread across the shards: each shard reads the
    /// item and processes the units that are its own (a single large file still splits across machines).
    var shardsByUnit: Bool { items.count < settings.shardCount }

    /// Whether this shard does the unit (`chunk` given) or takes part in the item (`chunk` nil).
    public func isMine(item: Int, chunk: Int?) -> Bool {
        let count = settings.shardCount
        if count == 1 { return true }
        if shardsByUnit {
            guard let chunk else { return true }
            return (item + chunk) % count == settings.shardIndex
        }
        return item % count == settings.shardIndex
    }

    /// Runs this shard's share of the work.
    public func run(progress: (any WorkProgressReporting)? = nil) throws -> WorkRunCounts {
        for sub in ["units", "items", "quarantine"] { try createDirectories("\(output)/\(sub)") }
        let mine = items.filter { isMine(item: $0.index, chunk: nil) }
        let pending = mine.filter { !fileExists("\(output)/items/\(PlanItem.name($0.index)).json") }
        progress?.setTotalFileBytes(pending.reduce(0) { $0 + $1.files.reduce(0) { $0 + $1.size } })

        let state = RunState(workers: max(1, settings.workers))
        // Readers decompress and cut files into units; one reader per four workers keeps many cores fed
        // (one zstd stream decompresses at about 1.5 GB/s). Each reader takes the next pending item.
        let readerCount = min(pending.count, max(1, (settings.workers + 3) / 4))
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
            throw WorkRunError(message: failure)
        }
        return WorkRunCounts(unitsProcessed: state.processed.load(ordering: .relaxed),
                             unitsSkipped: state.skipped.load(ordering: .relaxed),
                             unitsOfOtherShards: state.otherShards.load(ordering: .relaxed))
    }

    /// Reads one plan item and hands its units to the workers.
    private func read(_ item: PlanItem, state: RunState, progress: (any WorkProgressReporting)?) {
        // A quarantine left by an earlier run is retried: the file may have been replaced.
        removeFile("\(output)/quarantine/\(PlanItem.name(item.index)).json")
        switch item.kind {
        case .stream: readJSONLItem(item, state: state, progress: progress)
        case .parquet: readParquetItem(item, state: state, progress: progress)
        case .group:
            let unit = PlanItem.unitName(item: item.index, chunk: 0)
            let itemGroup = DispatchGroup()
            if fileExists("\(output)/units/\(unit).json") {
                state.skipped.add(1, ordering: .relaxed)
            } else if !isMine(item: item.index, chunk: 0) {
                state.otherShards.add(1, ordering: .relaxed)
            } else {
                state.slots.wait()
                DispatchQueue.global().async(group: itemGroup) {
                    defer { state.slots.signal() }
                    self.runUnit(unit, state: state) {
                        try self.processor.process(WorkUnit(name: unit, item: item.index, chunk: 0, source: .files(item.files)))
                    }
                }
            }
            finishItem(item, units: [unit], quarantine: { nil }, group: itemGroup, state: state)
        }
    }

    /// Runs a unit and writes its done-marker; a body that returns nil (its file was quarantined) leaves none.
    private func runUnit(_ unit: String, state: RunState, _ body: () throws -> Processor.Report?) {
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
    private func readJSONLItem(_ item: PlanItem, state: RunState, progress: (any WorkProgressReporting)?) {
        let file = item.files[0]
        let itemGroup = DispatchGroup()
        var units: [String] = []
        var quarantine: Quarantine?
        do {
            let source = try openByteSource(path: file.path, compression: file.compression)
            let unitBytes = Int64(settings.unitBytes)
            var buffer = state.buffers.take(capacity: settings.unitBytes + (4 << 20))
            var bufferOffset: Int64 = 0        // stream offset of buffer[0], always a line start
            var nextLine = 1                   // line number of buffer[0]
            var searchFrom = 0                 // bytes of the buffer already known to hold no boundary newline
            var lastReported: Int64 = 0

            func emit(length: Int, endsWithNewline: Bool) {
                let index = Int(bufferOffset / unitBytes)
                let unit = PlanItem.unitName(item: item.index, chunk: index)
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
                    let next = state.buffers.take(capacity: settings.unitBytes + (4 << 20))
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
                            try self.processor.process(WorkUnit(name: unit, item: item.index, chunk: index, source: .lines(lines, file: file)))
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
                    progress?.addFileBytesRead(consumed - lastReported)
                    lastReported = consumed
                }
            }
            if !state.failed && buffer.count > 0 {
                let endsWithNewline = buffer.bytes[buffer.count - 1] == 0x0A
                if !endsWithNewline { buffer.append(0x0A) }   // the worker splits on "\n"; bytes are counted without it
                emit(length: buffer.count, endsWithNewline: endsWithNewline)
            }
            state.buffers.give(buffer)
            progress?.addFileBytesRead(source.fileBytesConsumed - lastReported)
        } catch let error as MMedIOError where error.kind == .corruptCompressed || error.kind == .truncatedCompressed {
            quarantine = Quarantine(item: item.index, file: file.path, error: error.description)
        } catch {
            quarantine = Quarantine(item: item.index, file: file.path, error: "\(error)")
        }
        if state.failed { return }
        finishItem(item, units: units, quarantine: { [quarantine] in quarantine }, group: itemGroup, state: state)
    }

    /// Reads a Parquet file's footer and hands each row group that is not done to the workers as one unit.
    /// A file that cannot be opened, that `prepareParquet` refuses (e.g. it lacks the text column), or that turns out
    /// corrupt in any row group is quarantined whole (what its other units wrote is removed).
    private func readParquetItem(_ item: PlanItem, state: RunState, progress: (any WorkProgressReporting)?) {
        let input = item.files[0]
        let itemGroup = DispatchGroup()
        let quarantine = QuarantineSlot()
        var units: [String] = []
        do {
            let file = try ParquetFile(path: input.path)
            let context = try processor.prepareParquet(file, input: input)
            var firstRow: Int64 = 0
            for group in 0..<file.rowGroupCount {
                let unit = PlanItem.unitName(item: item.index, chunk: group)
                units.append(unit)
                let rowGroup = file.metadata.rowGroups[group]
                let start = firstRow
                firstRow += rowGroup.rowCount
                let storedBytes = rowGroup.columns.reduce(Int64(0)) { $0 + ($1.metaData?.totalCompressedSize ?? 0) }
                if fileExists("\(output)/units/\(unit).json") {
                    state.skipped.add(1, ordering: .relaxed)
                    progress?.addFileBytesRead(storedBytes)
                    continue
                }
                if !isMine(item: item.index, chunk: group) {
                    state.otherShards.add(1, ordering: .relaxed)
                    continue
                }
                if state.failed || quarantine.get() != nil { break }
                state.slots.wait()
                let work = WorkUnit(name: unit, item: item.index, chunk: group,
                                    source: .parquetRowGroup(ParquetRowGroupUnit(file: file, context: context, rowGroup: group,
                                                                                 firstRow: start, input: input)))
                DispatchQueue.global().async(group: itemGroup) {
                    defer { state.slots.signal() }
                    self.runUnit(unit, state: state) {
                        if quarantine.get() != nil { return nil }
                        do {
                            let report = try self.processor.process(work)
                            progress?.addFileBytesRead(storedBytes)
                            return report
                        } catch let error as ParquetError {
                            quarantine.set(Quarantine(item: item.index, file: input.path, error: error.description))
                            return nil
                        }
                    }
                }
            }
        } catch {
            quarantine.set(Quarantine(item: item.index, file: input.path, error: "\(error)"))
        }
        if state.failed { return }
        finishItem(item, units: units, quarantine: { quarantine.get() }, group: itemGroup, state: state)
    }

    /// When the item's units are all done, writes its marker, or for a quarantined file removes what its units
    /// wrote, so that a file counts wholly or not at all. `quarantine` is asked once the units have finished
    /// (a worker may find a Parquet file corrupt).
    private func finishItem(_ item: PlanItem, units: [String], quarantine: @escaping @Sendable () -> Quarantine?,
                            group: DispatchGroup, state: RunState) {
        state.all.enter()
        group.notify(queue: state.markerQueue) {
            defer { state.all.leave() }
            if state.failed { return }
            do {
                if let quarantine = quarantine() {
                    self.processor.removeOutputs(ofItem: item.index)
                    removeFiles(in: "\(self.output)/units", withPrefix: PlanItem.name(item.index) + "-")
                    let data = try JSONEncoder.sorted.encode(quarantine)
                    try AtomicFileWriter.write(Array(data), to: "\(self.output)/quarantine/\(PlanItem.name(item.index)).json")
                    return
                }
                // Units of other shards may still be pending; the shard that sees them all done writes the marker.
                guard units.allSatisfy({ fileExists("\(self.output)/units/\($0).json") }) else { return }
                let report = ItemReport(item: item.index, inputs: item.files.map(\.path), units: units)
                let data = try JSONEncoder.sorted.encode(report)
                try AtomicFileWriter.write(Array(data), to: "\(self.output)/items/\(PlanItem.name(item.index)).json")
            } catch {
                state.fail("item \(item.index): \(error)")
            }
        }
    }
}

/// Removes the files of `directory` whose names start with `prefix` (a quarantined item's unit outputs).
public func removeFiles(in directory: String, withPrefix prefix: String) {
    guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
    for name in names where name.hasPrefix(prefix) { removeFile("\(directory)/\(name)") }
}

/// Shared state of one run.
final class RunState: Sendable {
    let slots: DispatchSemaphore
    let all = DispatchGroup()
    let markerQueue = DispatchQueue(label: "mmed.corpus.markers")
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

/// The first quarantine reported for a file by its reader or any of its units.
final class QuarantineSlot: Sendable {
    private let value = Mutex<Quarantine?>(nil)
    func set(_ quarantine: Quarantine) { value.withLock { if $0 == nil { $0 = quarantine } } }
    func get() -> Quarantine? { value.withLock { $0 } }
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

extension JSONEncoder {
    /// Sorted keys, slashes unescaped: markers and reports are byte-identical across runs.
    public static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}

/// Seconds elapsed since `start`.
public func seconds(since start: DispatchTime) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}
