import Dispatch
import Foundation
import MMedIO
import MMedText
import Parquet
import Synchronization

/// Which columns of a Parquet file the filter reads, found by name.
struct ParquetColumns: Sendable {
    /// Every flat column, in schema order: a kept row is written with all of them.
    var all: [ColumnDescriptor]
    var text: Int
    var id: Int?
    var language: Int?

    init(file: ParquetFile, configuration: FilterJobConfiguration) throws {
        all = try file.columns(named: nil)
        guard let text = all.firstIndex(where: { $0.name == configuration.textField }) else {
            // Let the reader explain: a nested field, or no such column.
            _ = try file.columns(named: [configuration.textField])
            throw ParquetError(.usage, ParquetLocation(file: file.path), "has no column \"\(configuration.textField)\"")
        }
        guard all[text].physicalType == .byteArray else {
            throw ParquetError(.usage, ParquetLocation(file: file.path, column: configuration.textField),
                               "is \(all[text].physicalType), not a string column (give --text-field)")
        }
        self.text = text
        id = all.firstIndex { $0.name == configuration.idField }
        if let field = configuration.languageField {
            language = all.firstIndex { $0.name == field }
            if let language, all[language].physicalType != .byteArray {
                throw ParquetError(.usage, ParquetLocation(file: file.path, column: field), "is \(all[language].physicalType), not a string column of language codes")
            }
        }
    }
}

/// The first quarantine reported for a file by its reader or any of its units.
final class QuarantineSlot: Sendable {
    private let value = Mutex<Quarantine?>(nil)
    func set(_ quarantine: Quarantine) { value.withLock { if $0 == nil { $0 = quarantine } } }
    func get() -> Quarantine? { value.withLock { $0 } }
}

extension CorpusFilterJob {
    /// Reads a Parquet file's footer and hands each row group that is not done to the workers as one unit.
    /// A file that cannot be opened, lacks the text column, or turns out corrupt in any row group is quarantined
    /// whole (what its other units wrote is removed).
    func readParquetItem(_ item: PlanItem, state: RunState, progress: FilterProgress?) {
        let input = item.files[0]
        let itemGroup = DispatchGroup()
        let quarantine = QuarantineSlot()
        var units: [String] = []
        do {
            let file = try ParquetFile(path: input.path)
            let columns = try ParquetColumns(file: file, configuration: configuration)
            var firstRow: Int64 = 0
            for group in 0..<file.rowGroupCount {
                let unit = Self.unitName(item: item.index, chunk: group)
                units.append(unit)
                let rowGroup = file.metadata.rowGroups[group]
                let start = firstRow
                firstRow += rowGroup.rowCount
                let storedBytes = rowGroup.columns.reduce(Int64(0)) { $0 + ($1.metaData?.totalCompressedSize ?? 0) }
                if fileExists("\(output)/units/\(unit).json") {
                    state.skipped.add(1, ordering: .relaxed)
                    progress?.fileBytesRead.add(storedBytes, ordering: .relaxed)
                    continue
                }
                if !isMine(item: item.index, chunk: group) {
                    state.otherShards.add(1, ordering: .relaxed)
                    continue
                }
                if state.failed || quarantine.get() != nil { break }
                state.slots.wait()
                DispatchQueue.global().async(group: itemGroup) {
                    defer { state.slots.signal() }
                    self.runUnit(unit, state: state) {
                        if quarantine.get() != nil { return nil }
                        do {
                            let report = try self.processParquetRowGroup(file: file, columns: columns, rowGroup: group, firstRow: start,
                                                                         input: input, item: item.index, unit: unit, progress: progress)
                            progress?.fileBytesRead.add(storedBytes, ordering: .relaxed)
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

    /// One row group: every row is a document; kept rows are written as JSON objects of all flat columns.
    func processParquetRowGroup(file: ParquetFile, columns: ParquetColumns, rowGroup: Int, firstRow: Int64, input: InputFile,
                                item: Int, unit: String, progress: FilterProgress?) throws -> UnitReport {
        let started = DispatchTime.now()
        let writer = UnitWriter(job: self, unit: unit, item: item, progress: progress)
        writer.report.inputs[input.path] = Tally()
        let cursor = try file.rows(rowGroup: rowGroup, columns: columns.all)
        let json = ParquetJSONWriter(columns: columns.all)
        let record = ByteBuffer(capacity: 1 << 16)
        let id = ByteBuffer(capacity: 256)
        let textField = configuration.textField
        var row = firstRow - 1
        func render() -> UnsafeRawBufferPointer {
            record.removeAll()
            json.appendRow(cursor, to: record)
            return record.bytes
        }
        while try cursor.next() {
            row += 1
            let location = RecordLocation(file: input.path, line: nil, offset: row, bytes: Int64(rowBytes(cursor, columns: columns.all.count)))
            // Language of the document.
            var language = configuration.language
            if let c = columns.language, !cursor.isNull(c) {
                let code = cursor.withBytes(c) { String(decoding: $0!, as: UTF8.self) }
                guard let parsed = Language(code: code) else {
                    try writer.reject(location, reason: "unsupported language \"\(code)\" in column \"\(configuration.languageField!)\" (supported: \(Language.supportedCodes))",
                                      category: "unsupported language", raw: UnsafeRawBufferPointer(rebasing: render().dropLast()))
                    continue
                }
                language = parsed
            }
            guard let language else {
                try writer.reject(location, reason: "missing field \"\(configuration.languageField!)\"", category: "missing language field",
                                  raw: UnsafeRawBufferPointer(rebasing: render().dropLast()))
                continue
            }
            if cursor.isNull(columns.text) {
                try writer.reject(location, reason: "column \"\(textField)\" is null", category: "missing text field", language: language,
                                  raw: UnsafeRawBufferPointer(rebasing: render().dropLast()))
                continue
            }
            var idBytes: UnsafeRawBufferPointer?
            if let c = columns.id, !cursor.isNull(c) {
                id.removeAll()
                json.appendValue(cursor, c, to: id)
                idBytes = id.bytes
            }
            try cursor.withBytes(columns.text) { text in
                try writer.accept(location, text: text!, language: language, id: idBytes, makeRecord: render)
            }
        }
        return try writer.finish(started: started)
    }

    /// The row's decoded size: byte arrays by length, fixed-width values by width, nulls as nothing.
    private func rowBytes(_ cursor: RowGroupCursor, columns: Int) -> Int {
        var total = 0
        for c in 0..<columns {
            let (page, index) = cursor.position(c)
            guard index >= 0 else { continue }
            switch page.values {
            case .bytes(let values): total += values.lengths[index]
            case .boolean: total += 1
            case .int32, .float: total += 4
            case .int64, .double: total += 8
            case .int96: total += 12
            }
        }
        return total
    }
}
