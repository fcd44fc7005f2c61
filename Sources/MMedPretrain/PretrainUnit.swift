import Dispatch
import Foundation
import MMedCorpus
import MMedIO
import MMedTokenizers
import Parquet

/// The columns of a Parquet file a run reads: the text, and the language where the file has that column.
struct PretrainParquetColumns: Sendable {
    var selected: [ColumnDescriptor]
    var hasLanguage: Bool

    init(file: ParquetFile, textField: String, languageField: String?) throws {
        let all = try file.columns(named: nil)
        guard let text = all.first(where: { $0.name == textField }) else {
            // Let the reader explain: a nested field, or no such column.
            _ = try file.columns(named: [textField])
            throw ParquetError(.usage, ParquetLocation(file: file.path), "has no column \"\(textField)\" (give --text-field)")
        }
        guard text.physicalType == .byteArray else {
            throw ParquetError(.usage, ParquetLocation(file: file.path, column: textField), "is \(text.physicalType), not a string column (give --text-field)")
        }
        selected = [text]
        hasLanguage = false
        if let languageField, let language = all.first(where: { $0.name == languageField }), language.physicalType == .byteArray {
            selected.append(language)
            hasLanguage = true
        }
    }
}

/// Where a document sits in its input, for rejects.
struct DocumentLocation {
    var file: String
    /// 1-based line of a JSONL record; nil for a text file and a Parquet row.
    var line: Int?
    /// 0-based row index of a Parquet row.
    var row: Int64?
    /// Byte offset of the record in the decompressed stream; for a Parquet row, its row index (as the filter's rejects).
    var offset: Int64

    /// Whether the document is a whole text file.
    var isWholeFile: Bool { line == nil && row == nil }
}

/// The parts one unit writes, in `parts/` (assembled in unit order once every unit is done):
/// - Megatron: `<unit>.tokens`, the int32 tokens of its sequences back to back, and `<unit>.sequences`, the length and
///   padding of each sequence and the number of sequences of each document (`UnitSequences`);
/// - npy: the windows go straight to `npy/`; `<unit>.npy.jsonl` lists them in order with their padding.
/// Rejected records go to `rejected/<unit>.jsonl`.
final class PretrainUnitWriter {
    let configuration: PretrainConfiguration
    let naming: NpyNaming
    let tokenizer: any Tokenizer
    let settings: SequenceSettings
    let eos: Int32
    let output: String
    let unit: String
    var report: PretrainUnitReport
    private let progress: PretrainProgress?
    private let started = DispatchTime.now()

    private var tokensPart: AtomicFileWriter?
    private var sequences = UnitSequences()
    private let paddingIDs: [Int32]

    private var npyIndex: AtomicFileWriter?
    private var npyWritten: [String] = []
    private let row = ByteBuffer(capacity: 4096)

    private var rejected: AtomicFileWriter?

    init(job: PretrainJob, unit: String, item: Int, progress: PretrainProgress?) throws {
        configuration = job.configuration
        naming = job.naming
        tokenizer = job.configuration.tokenizer.tokenizer
        settings = job.configuration.sequences
        eos = job.eos
        output = job.output
        self.unit = unit
        report = PretrainUnitReport(unit: unit, item: item)
        self.progress = progress
        paddingIDs = settings.mode == .window ? [Int32](repeating: settings.padID, count: settings.windowSize) : []
        switch configuration.format {
        case .megatron: tokensPart = try AtomicFileWriter(path: "\(output)/parts/\(unit).tokens")
        case .mmedlmNpy: npyIndex = try AtomicFileWriter(path: "\(output)/parts/\(unit).npy.jsonl")
        }
    }

    // MARK: Documents

    /// Tokenizes one document and writes its sequences. `name` names its npy windows.
    func document(_ location: DocumentLocation, text: UnsafeRawBufferPointer, language: String?, name: @autoclosure () -> String,
                  raw: @autoclosure () -> UnsafeRawBufferPointer?) throws {
        guard isValidUTF8(text) else {
            let at = firstInvalidUTF8Offset(text)
            try reject(location, reason: location.isWholeFile ? "invalid UTF-8 at byte \(at) of the file"
                                                              : "field \"\(configuration.textField)\": invalid UTF-8 at byte \(at) of the text",
                       category: "invalid UTF-8", language: language, raw: raw())
            return
        }
        var ids = tokenizer.encode(String(decoding: text, as: UTF8.self), addSpecialTokens: true)
        ids.append(eos)
        let vocabulary = tokenizer.vocabularySize
        if vocabulary > 0, let bad = ids.first(where: { $0 < 0 || Int($0) >= vocabulary }) {
            throw PretrainError("\(describe(location)): the tokenizer produced id \(bad), outside its vocabulary of \(vocabulary); the tokenizer file is inconsistent")
        }
        let spans = sequenceSpans(tokenCount: ids.count, settings: settings)
        switch configuration.format {
        case .megatron: try writeMegatron(ids, spans)
        case .mmedlmNpy: try writeNpy(ids, spans, document: name(), location: location)
        }
        var tally = PretrainTally()
        tally.documentsRead = 1
        tally.documentsTokenized = 1
        tally.textBytes = Int64(text.count)
        tally.tokens = Int64(ids.count)
        tally.sequences = Int64(spans.count)
        for span in spans {
            tally.sequenceTokens += Int64(span.length)
            tally.paddingTokens += Int64(span.padding)
        }
        count(tally, file: location.file, language: language)
        progress?.documents.add(1, ordering: .relaxed)
        progress?.tokens.add(tally.tokens, ordering: .relaxed)
        progress?.textBytes.add(tally.textBytes, ordering: .relaxed)
    }

    private func writeMegatron(_ ids: [Int32], _ spans: [SequenceSpan]) throws {
        guard let tokensPart else { return }
        try ids.withUnsafeBytes { raw in
            for span in spans {
                try tokensPart.write(UnsafeRawBufferPointer(rebasing: raw[(span.start * 4)..<(span.end * 4)]))
                if span.padding > 0 {
                    try paddingIDs.withUnsafeBytes { try tokensPart.write(UnsafeRawBufferPointer(rebasing: $0[0..<(span.padding * 4)])) }
                }
                sequences.lengths.append(Int32(span.length))
                sequences.padding.append(Int32(span.padding))
            }
        }
        sequences.documentSequenceCounts.append(Int32(spans.count))
    }

    private func writeNpy(_ ids: [Int32], _ spans: [SequenceSpan], document: String, location: DocumentLocation) throws {
        guard let npyIndex else { return }
        for (window, span) in spans.enumerated() {
            let name = NpyNaming.fileName(document: document, window: window)
            let path = "\(output)/npy/\(name)"
            var values = Array(ids[span.start..<span.end])
            if span.padding > 0 { values += repeatElement(settings.padID, count: span.padding) }
            try writeFileUnsynced(numpyInt64File(values), to: path)
            npyWritten.append(path)
            row.removeAll()
            row.append("{\"file\":")
            row.appendJSONString("npy/" + name)
            row.append(",\"input\":")
            row.appendJSONString(location.file)
            row.append(",\"line\":")
            if let line = location.line { row.appendDecimal(line) } else { row.append("null") }
            row.append(",\"row\":")
            if let rowIndex = location.row { row.appendDecimal(rowIndex) } else { row.append("null") }
            row.append(",\"window\":")
            row.appendDecimal(window)
            row.append(",\"tokens\":")
            row.appendDecimal(span.length)
            row.append(",\"padding\":")
            row.appendDecimal(span.padding)
            row.append("}\n")
            try npyIndex.write(row.bytes)
        }
    }

    // MARK: Rejects and tallies

    /// Sends a record to `rejected/` with its reason; `raw` is the record as read (base64 when not UTF-8).
    func reject(_ location: DocumentLocation, reason: String, category: String, language: String? = nil,
                raw: UnsafeRawBufferPointer?) throws {
        var tally = PretrainTally()
        tally.documentsRead = 1
        tally.documentsRejected = 1
        count(tally, file: location.file, language: language)
        report.rejectReasons[category, default: 0] += 1
        if rejected == nil { rejected = try AtomicFileWriter(path: "\(output)/rejected/\(unit).jsonl") }
        row.removeAll()
        row.append("{\"file\":")
        row.appendJSONString(location.file)
        row.append(",\"line\":")
        if let line = location.line { row.appendDecimal(line) } else { row.append("null") }
        row.append(",\"offset\":")
        row.appendDecimal(location.offset)
        row.append(",\"reason\":")
        row.appendJSONString(reason)
        if let raw {
            if isValidUTF8(raw) {
                row.append(",\"record\":")
                row.appendJSONString(raw)
            } else {
                row.append(",\"record_base64\":\"")
                row.append(Data(raw).base64EncodedString())
                row.append("\"")
            }
        }
        row.append("}\n")
        try rejected!.write(row.bytes)
    }

    private func count(_ tally: PretrainTally, file: String, language: String?) {
        report.total.add(tally)
        report.inputs[file, default: PretrainTally()].add(tally)
        if let language { report.languages[language, default: PretrainTally()].add(tally) }
    }

    private func describe(_ location: DocumentLocation) -> String {
        if let line = location.line { return "\(location.file):\(line)" }
        if let row = location.row { return "\(location.file), row \(row)" }
        return location.file
    }

    // MARK: Sources

    /// The JSONL lines in `all` (each ending in "\n"), which start at `firstLine` / `firstOffset` of `file`.
    func readLines(_ all: UnsafeRawBufferPointer, firstLine: Int, firstOffset: Int64, lastLineHasNewline: Bool, file: InputFile) throws {
        let textField = configuration.textField
        if report.inputs[file.path] == nil { report.inputs[file.path] = PretrainTally() }
        var keys = [textField]
        if let languageField = configuration.languageField { keys.append(languageField) }
        var scanner = JSONObjectScanner(keys: keys, deferValidation: [textField])
        var position = 0
        var lineNumber = firstLine - 1
        while position < all.count {
            let start = position
            let end = UnsafeRawPointer(memchr(all.baseAddress! + start, 0x0A, all.count - start)!) - all.baseAddress!
            position = end + 1
            lineNumber += 1
            let line = UnsafeRawBufferPointer(rebasing: all[start..<end])
            let location = DocumentLocation(file: file.path, line: lineNumber, row: nil, offset: firstOffset + Int64(start))
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                report.blankLines += 1
                continue
            }
            do {
                try scanner.scan(line)
            } catch {
                try reject(location, reason: "malformed JSON: \(error)", category: "malformed JSON", raw: line)
                continue
            }
            var language: String?
            if keys.count > 1, let value = scanner.values[1], value.kind == .string {
                let body = UnsafeRawBufferPointer(rebasing: line[value.range])
                if value.hasEscapes {
                    var decoded: [UInt8] = []
                    try? JSONObjectScanner.unescape(body, into: &decoded)
                    language = String(decoding: decoded, as: UTF8.self)
                } else {
                    language = String(decoding: body, as: UTF8.self)
                }
            }
            guard let textValue = scanner.values[0] else {
                try reject(location, reason: "missing field \"\(textField)\"", category: "missing text field", language: language, raw: line)
                continue
            }
            guard textValue.kind == .string else {
                try reject(location, reason: "field \"\(textField)\" is \(textValue.kind.phrase), not a string",
                           category: "text field not a string", language: language, raw: line)
                continue
            }
            if let problem = scanner.decodeError {
                try reject(location, reason: "field \"\(textField)\": \(problem)", category: "bad escape in text", language: language, raw: line)
                continue
            }
            // Escapes were decoded by the scanner as it read the field; otherwise the text is the raw slice.
            let text = textValue.hasEscapes ? scanner.decoded.bytes : UnsafeRawBufferPointer(rebasing: line[textValue.range])
            try document(location, text: text, language: language, name: naming.documentName(input: file.path, line: lineNumber), raw: line)
        }
    }

    /// Small files read whole: JSONL files line by line, text files as one document each. A corrupt compressed file is
    /// quarantined alone.
    func readFiles(_ files: [InputFile]) throws {
        let bytes = ByteBuffer(capacity: 1 << 16)
        for file in files {
            bytes.removeAll()
            do {
                let source = try openByteSource(path: file.path, compression: file.compression)
                while try source.append(to: bytes, atMost: 1 << 20) > 0 {}
            } catch let error as MMedIOError where error.kind == .corruptCompressed || error.kind == .truncatedCompressed {
                report.quarantined.append(Quarantine(item: report.item, file: file.path, error: error.description))
                report.inputs[file.path] = PretrainTally()
                continue
            }
            progress?.addFileBytesRead(file.size)
            if file.format == .jsonl {
                let endsWithNewline = bytes.count == 0 || bytes.bytes[bytes.count - 1] == 0x0A
                if !endsWithNewline { bytes.append(0x0A) }
                try readLines(bytes.bytes, firstLine: 1, firstOffset: 0, lastLineHasNewline: endsWithNewline, file: file)
                continue
            }
            try document(DocumentLocation(file: file.path, line: nil, row: nil, offset: 0), text: bytes.bytes, language: nil,
                         name: naming.documentName(input: file.path), raw: nil)
        }
    }

    /// One Parquet row group: every row is a document.
    func readRowGroup(_ group: ParquetRowGroupUnit<PretrainParquetColumns>) throws {
        let columns = group.context
        report.inputs[group.input.path] = PretrainTally()
        let cursor = try group.file.rows(rowGroup: group.rowGroup, columns: columns.selected)
        let json = ParquetJSONWriter(columns: columns.selected)
        let record = ByteBuffer(capacity: 1 << 16)
        var rowIndex = group.firstRow - 1
        while try cursor.next() {
            rowIndex += 1
            let location = DocumentLocation(file: group.input.path, line: nil, row: rowIndex, offset: rowIndex)
            var language: String?
            if columns.hasLanguage, !cursor.isNull(1) {
                language = cursor.withBytes(1) { String(decoding: $0!, as: UTF8.self) }
            }
            if cursor.isNull(0) {
                record.removeAll()
                json.appendRow(cursor, to: record)
                try reject(location, reason: "column \"\(configuration.textField)\" is null", category: "missing text field",
                           language: language, raw: UnsafeRawBufferPointer(rebasing: record.bytes.dropLast()))
                continue
            }
            try cursor.withBytes(0) { text in
                try document(location, text: text!, language: language,
                             name: naming.documentName(input: group.input.path, row: rowIndex),
                             raw: {
                                 record.removeAll()
                                 json.appendRow(cursor, to: record)
                                 return UnsafeRawBufferPointer(rebasing: record.bytes.dropLast())
                             }())
            }
        }
    }

    // MARK: Commit

    /// Commits the unit's parts (the runner writes its done-marker after this returns).
    func finish() throws -> PretrainUnitReport {
        if let tokensPart {
            try tokensPart.commit()
            try AtomicFileWriter.write(sequences.serialized(), to: "\(output)/parts/\(unit).sequences")
            report.outputs += ["parts/\(unit).tokens", "parts/\(unit).sequences"]
        }
        if let npyIndex {
            try syncFiles(npyWritten)
            try npyIndex.commit()
            report.outputs.append("parts/\(unit).npy.jsonl")
        }
        if let rejected {
            try rejected.commit()
            report.outputs.append("rejected/\(unit).jsonl")
        }
        report.seconds = seconds(since: started)
        return report
    }

    /// Removes the npy windows written so far (the unit failed or its file is corrupt: nothing of it may stay).
    func discardWrittenFiles() {
        for path in npyWritten { removeFile(path) }
        npyWritten.removeAll()
    }
}

/// The sequences of one unit's Megatron token part: per sequence its length and padding, per document its number of
/// sequences. Stored little-endian: "MMSEQ\0\0\1", <Q sequences, <Q documents, int32 lengths, int32 padding, int32
/// sequences per document.
struct UnitSequences: Equatable {
    static let magic: [UInt8] = Array("MMSEQ".utf8) + [0, 0, 1]
    var lengths: [Int32] = []
    var padding: [Int32] = []
    var documentSequenceCounts: [Int32] = []

    func serialized() -> [UInt8] {
        var bytes = Self.magic
        bytes.reserveCapacity(24 + lengths.count * 8 + documentSequenceCounts.count * 4)
        appendLittleEndian(UInt64(lengths.count), to: &bytes)
        appendLittleEndian(UInt64(documentSequenceCounts.count), to: &bytes)
        for value in lengths { appendLittleEndian(value, to: &bytes) }
        for value in padding { appendLittleEndian(value, to: &bytes) }
        for value in documentSequenceCounts { appendLittleEndian(value, to: &bytes) }
        return bytes
    }

    init() {}

    init(parsing bytes: [UInt8], file: String) throws {
        var reader = LittleEndianReader(bytes: bytes, file: file)
        guard try reader.bytes(8) == Self.magic else { throw MMedIOError(.malformed, path: file, offset: 0, "not a sequence part (bad magic); delete the unit's marker in units/ to redo it") }
        let sequenceCount = Int(try reader.value(UInt64.self))
        let documentCount = Int(try reader.value(UInt64.self))
        guard bytes.count == 24 + sequenceCount * 8 + documentCount * 4 else {
            throw MMedIOError(.malformed, path: file, "truncated sequence part; delete the unit's marker in units/ to redo it")
        }
        lengths = try (0..<sequenceCount).map { _ in try reader.value(Int32.self) }
        padding = try (0..<sequenceCount).map { _ in try reader.value(Int32.self) }
        documentSequenceCounts = try (0..<documentCount).map { _ in try reader.value(Int32.self) }
        guard documentSequenceCounts.reduce(0, { $0 + Int($1) }) == sequenceCount else {
            throw MMedIOError(.malformed, path: file, "documents and sequences disagree; delete the unit's marker in units/ to redo it")
        }
    }
}
