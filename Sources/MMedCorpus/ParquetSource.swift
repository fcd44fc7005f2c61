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

extension CorpusFilterJob {
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
