import Dispatch
import Foundation
import MMedIO
import MMedText

/// The outputs of one work unit, created on first use and committed together.
final class UnitOutputs {
    let directory: String
    let unit: String
    let writeDropped: Bool
    private var kept: ZstdFileWriter?
    private var dropped: ZstdFileWriter?
    private var attributes: ZstdFileWriter?
    private var rejected: AtomicFileWriter?
    let attributeBuffer = ByteBuffer(capacity: 1 << 20)
    let rejectBuffer = ByteBuffer(capacity: 1 << 16)
    private(set) var written: [String] = []

    init(directory: String, unit: String, writeDropped: Bool) {
        self.directory = directory
        self.unit = unit
        self.writeDropped = writeDropped
    }

    func writeDocument(_ record: UnsafeRawBufferPointer, kept isKept: Bool) throws {
        if isKept {
            if kept == nil { kept = try ZstdFileWriter(path: "\(directory)/kept/\(unit).jsonl.zst") }
            try kept!.write(record)
        } else if writeDropped {
            if dropped == nil { dropped = try ZstdFileWriter(path: "\(directory)/dropped/\(unit).jsonl.zst") }
            try dropped!.write(record)
        }
    }

    func flushAttributes(force: Bool = false) throws {
        guard attributeBuffer.count > 0, force || attributeBuffer.count >= 1 << 20 else { return }
        if attributes == nil { attributes = try ZstdFileWriter(path: "\(directory)/attributes/\(unit).jsonl.zst") }
        try attributes!.write(attributeBuffer)
        attributeBuffer.removeAll()
    }

    func flushRejected(force: Bool = false) throws {
        guard rejectBuffer.count > 0, force || rejectBuffer.count >= 1 << 20 else { return }
        if rejected == nil { rejected = try AtomicFileWriter(path: "\(directory)/rejected/\(unit).jsonl") }
        try rejected!.write(rejectBuffer.bytes)
        rejectBuffer.removeAll()
    }

    func commit() throws -> [String] {
        try flushAttributes(force: true)
        try flushRejected(force: true)
        if let kept { try kept.commit(); written.append("kept/\(unit).jsonl.zst") }
        if let dropped { try dropped.commit(); written.append("dropped/\(unit).jsonl.zst") }
        if let attributes { try attributes.commit(); written.append("attributes/\(unit).jsonl.zst") }
        if let rejected { try rejected.commit(); written.append("rejected/\(unit).jsonl") }
        return written
    }
}

/// Where a record sits in its input, for attributes and rejects.
struct RecordLocation {
    var file: String
    /// 1-based line of a JSONL record; nil for a whole-file document and a Parquet row.
    var line: Int?
    /// Byte offset of the record in the decompressed stream; for a Parquet row, its 0-based row index in the file.
    var offset: Int64
    /// Bytes the record occupies in the input, as counted in the statistics.
    var bytes: Int64
}

/// Everything a work unit does with records once a source has read them: scores them, writes kept / dropped
/// records, attribute rows and rejects, and keeps the tallies. Every source (JSONL lines, text files, Parquet
/// row groups) turns its unit into calls of `accept` and `reject`.
final class UnitWriter {
    let configuration: FilterJobConfiguration
    let outputs: UnitOutputs
    var report: UnitReport
    private var scorers: [Language: KeywordScorer] = [:]
    private let progress: FilterProgress?
    private var pendingScored = 0, pendingKept = 0
    private var pendingBytes: Int64 = 0
    /// `{"file":"<path>","line":` for the file whose records come now.
    private let locationPrefix = ByteBuffer(capacity: 256)
    private var prefixFile: String?

    init(job: CorpusFilterJob, unit: String, item: Int, progress: FilterProgress?) {
        configuration = job.configuration
        outputs = UnitOutputs(directory: job.output, unit: unit, writeDropped: job.configuration.writeDropped)
        report = UnitReport(unit: unit, item: item)
        self.progress = progress
    }

    /// Per-language tallies by `Language` index, then one slot for "unknown"; merged into the report at the end
    /// (dictionary updates with string keys per document would cost more than scoring a short one).
    private var languageTallies = [Tally](repeating: Tally(), count: Language.allCases.count + 1)
    private var currentFile: String?
    private var currentFileTally = Tally()

    private func tally(_ outcome: Tally.Outcome, _ location: RecordLocation, language: Language?) {
        report.total.record(outcome, bytes: location.bytes)
        languageTallies[language.map { Language.allCases.firstIndex(of: $0)! } ?? Language.allCases.count].record(outcome, bytes: location.bytes)
        if currentFile != location.file { flushFileTally(); currentFile = location.file }
        currentFileTally.record(outcome, bytes: location.bytes)
    }

    private func flushFileTally() {
        if let currentFile { report.inputs[currentFile, default: Tally()].add(currentFileTally) }
        currentFileTally = Tally()
    }

    private func appendLocation(_ row: ByteBuffer, _ location: RecordLocation) {
        if prefixFile != location.file {
            locationPrefix.removeAll()
            locationPrefix.append("{\"file\":")
            locationPrefix.appendJSONString(location.file)
            locationPrefix.append(",\"line\":")
            prefixFile = location.file
        }
        row.append(locationPrefix.bytes)
        if let line = location.line { row.appendDecimal(line) } else { row.append("null") }
        row.append(",\"offset\":")
        row.appendDecimal(location.offset)
    }

    /// Sends a record to `rejected/` with its reason; `raw` is the record as read (base64 when not UTF-8).
    func reject(_ location: RecordLocation, reason: String, category: String, language: Language? = nil,
                raw: UnsafeRawBufferPointer?) throws {
        tally(.rejected, location, language: language)
        report.rejectReasons[category, default: 0] += 1
        let row = outputs.rejectBuffer
        appendLocation(row, location)
        row.append(",\"reason\":")
        row.appendJSONString(reason)
        if let raw {
            if let text = String(validating: raw, as: UTF8.self) {
                row.append(",\"record\":")
                row.appendJSONString(text)
            } else {
                row.append(",\"record_base64\":\"")
                row.append(base64(raw))
                row.append("\"")
            }
        }
        row.append("}\n")
        try outputs.flushRejected()
    }

    /// Scores `text` and writes `record` (one JSON line ending in "\n") to kept or dropped, plus its attribute
    /// row. `id` is the raw JSON of the record's id (a quoted string or a number), if it has one.
    func accept(_ location: RecordLocation, text: UnsafeRawBufferPointer, language: Language, id: UnsafeRawBufferPointer?,
                record: UnsafeRawBufferPointer) throws {
        try accept(location, text: text, language: language, id: id, makeRecord: { record })
    }

    /// As above, for sources whose records are rendered only when needed (Parquet rows become JSON lines only
    /// when they are written): `makeRecord` returns the record, ending in "\n", valid until the next call.
    func accept(_ location: RecordLocation, text: UnsafeRawBufferPointer, language: Language, id: UnsafeRawBufferPointer?,
                makeRecord: () -> UnsafeRawBufferPointer) throws {
        guard let filter = configuration.filters[language] else {
            try reject(location, reason: "no keyword list for language \"\(language.rawValue)\"", category: "no keyword list for language",
                       language: language, raw: UnsafeRawBufferPointer(rebasing: makeRecord().dropLast()))
            return
        }
        let scorer: KeywordScorer
        if let existing = scorers[language] { scorer = existing } else {
            scorer = KeywordScorer(matcher: filter.matcher)
            scorers[language] = scorer
        }
        let score: KeywordScorer.Score
        switch scorer.score(text) {
        case .success(let value): score = value
        case .failure(.invalidUTF8(let at)):
            try reject(location, reason: "field \"\(configuration.textField)\": invalid UTF-8 at byte \(at) of the text",
                       category: "invalid UTF-8", language: language, raw: UnsafeRawBufferPointer(rebasing: makeRecord().dropLast()))
            return
        }
        let keep = filter.keeps(score)
        if keep || configuration.writeDropped { try outputs.writeDocument(makeRecord(), kept: keep) }
        tally(keep ? .kept : .dropped, location, language: language)

        let row = outputs.attributeBuffer
        appendLocation(row, location)
        row.append(",\"id\":")
        if let id { row.append(id) } else { row.append("null") }
        row.append(",\"lang\":\"")
        row.append(language.rawValue)
        row.append("\",\"mkc\":")
        row.appendDecimal(score.uniqueKeywordCount)
        row.append(",\"keyword_chars\":")
        row.appendDecimal(score.keywordCharacters)
        row.append(",\"length\":")
        row.appendDecimal(score.length)
        row.append(",\"density\":")
        if score.keywordCharacters == 0 { row.append("0") } else { row.append(score.keywordDensity.description) }
        row.append(keep ? ",\"decision\":\"keep\"}\n" : ",\"decision\":\"drop\"}\n")
        try outputs.flushAttributes()

        pendingScored += 1
        if keep { pendingKept += 1 }
        pendingBytes += location.bytes
        if pendingScored >= 4096 { flushProgress() }
    }

    private func flushProgress() {
        guard let progress else { return }
        progress.documentsScored.add(pendingScored, ordering: .relaxed)
        progress.documentsKept.add(pendingKept, ordering: .relaxed)
        progress.bytesProcessed.add(pendingBytes, ordering: .relaxed)
        pendingScored = 0; pendingKept = 0; pendingBytes = 0
    }

    func finish(started: DispatchTime) throws -> UnitReport {
        flushProgress()
        flushFileTally()
        for (index, tally) in languageTallies.enumerated() where tally.documentsRead > 0 {
            report.languages[index < Language.allCases.count ? Language.allCases[index].rawValue : "unknown"] = tally
        }
        report.outputs = try outputs.commit()
        report.seconds = seconds(since: started)
        return report
    }
}

extension CorpusFilterJob {
    /// A unit of JSONL lines cut from one large file.
    func processLines(_ chunk: LineChunk, file: InputFile, item: Int, unit: String, progress: FilterProgress?) throws -> UnitReport {
        let started = DispatchTime.now()
        let writer = UnitWriter(job: self, unit: unit, item: item, progress: progress)
        var scanner = makeScanner()
        try scanLines(chunk.bytes, firstLine: chunk.firstLine, firstOffset: chunk.firstOffset,
                      lastLineHasNewline: chunk.lastLineHasNewline, file: file, writer: writer, scanner: &scanner)
        return try writer.finish(started: started)
    }

    func makeScanner() -> JSONObjectScanner {
        var keys = [configuration.textField, configuration.idField]
        if let languageField = configuration.languageField { keys.append(languageField) }
        return JSONObjectScanner(keys: keys, deferValidation: [configuration.textField])
    }

    /// Scores the JSONL lines in `all` (each ending in "\n"), which start at `firstLine` / `firstOffset` of `file`.
    func scanLines(_ all: UnsafeRawBufferPointer, firstLine: Int, firstOffset: Int64, lastLineHasNewline: Bool, file: InputFile,
                   writer: UnitWriter, scanner: inout JSONObjectScanner) throws {
        let textField = configuration.textField
        report(file.path, into: writer)
        var position = 0
        var lineNumber = firstLine - 1
        while position < all.count {
            let start = position
            let end = UnsafeRawPointer(memchr(all.baseAddress! + start, 0x0A, all.count - start)!) - all.baseAddress!
            position = end + 1
            lineNumber += 1
            let line = UnsafeRawBufferPointer(rebasing: all[start..<end])
            let isLastLine = position == all.count
            let location = RecordLocation(file: file.path, line: lineNumber, offset: firstOffset + Int64(start),
                                          bytes: Int64(line.count + (isLastLine && !lastLineHasNewline ? 0 : 1)))
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                writer.report.blankLines += 1
                continue
            }
            do {
                try scanner.scan(line)
            } catch {
                try writer.reject(location, reason: "malformed JSON: \(error)", category: "malformed JSON", raw: line)
                continue
            }
            // Language of the document.
            let language: Language
            if let field = configuration.languageField, let value = scanner.values[2] {
                guard value.kind == .string, !value.hasEscapes,
                      let code = String(validating: UnsafeRawBufferPointer(rebasing: line[value.range]), as: UTF8.self) else {
                    try writer.reject(location, reason: "field \"\(field)\" is not a language code string", category: "bad language field", raw: line)
                    continue
                }
                guard let parsed = Language(code: code) else {
                    try writer.reject(location, reason: "unsupported language \"\(code)\" in field \"\(field)\" (supported: \(Language.supportedCodes))",
                                      category: "unsupported language", raw: line)
                    continue
                }
                language = parsed
            } else if let fallback = configuration.language {
                language = fallback
            } else {
                try writer.reject(location, reason: "missing field \"\(configuration.languageField!)\"", category: "missing language field", raw: line)
                continue
            }
            guard let textValue = scanner.values[0] else {
                try writer.reject(location, reason: "missing field \"\(textField)\"", category: "missing text field", language: language, raw: line)
                continue
            }
            guard textValue.kind == .string else {
                try writer.reject(location, reason: "field \"\(textField)\" is \(textValue.kind.phrase), not a string",
                                  category: "text field not a string", language: language, raw: line)
                continue
            }
            var id: UnsafeRawBufferPointer?
            if let value = scanner.values[1], value.kind == .string || value.kind == .number {
                // The raw JSON of the id: a string keeps its quotes (escapes stay valid JSON).
                id = value.kind == .string ? UnsafeRawBufferPointer(rebasing: line[(value.range.lowerBound - 1)..<(value.range.upperBound + 1)])
                                           : UnsafeRawBufferPointer(rebasing: line[value.range])
            }
            let record = UnsafeRawBufferPointer(rebasing: all[start..<(end + 1)])
            if let problem = scanner.decodeError {
                try writer.reject(location, reason: "field \"\(textField)\": \(problem)", category: "bad escape in text",
                                  language: language, raw: line)
                continue
            }
            // Escapes were decoded by the scanner as it read the field; otherwise the text is the raw slice.
            let text = textValue.hasEscapes ? scanner.decoded.bytes : UnsafeRawBufferPointer(rebasing: line[textValue.range])
            try writer.accept(location, text: text, language: language, id: id, record: record)
        }
    }

    /// A group of small files read whole into one unit: JSONL files line by line, text files as one document each
    /// (written out as `{"id": path, "source": path, "text": ...}`). A corrupt compressed file is quarantined alone.
    func processGroup(_ files: [InputFile], item: Int, unit: String, progress: FilterProgress?) throws -> UnitReport {
        let started = DispatchTime.now()
        let writer = UnitWriter(job: self, unit: unit, item: item, progress: progress)
        var scanner = makeScanner()
        let record = ByteBuffer(capacity: 1 << 16)
        let id = ByteBuffer(capacity: 256)
        let bytes = ByteBuffer(capacity: 1 << 16)
        for file in files {
            bytes.removeAll()
            do {
                let source = try openByteSource(path: file.path, compression: file.compression)
                while try source.append(to: bytes, atMost: 1 << 20) > 0 {}
            } catch let error as MMedIOError where error.kind == .corruptCompressed || error.kind == .truncatedCompressed {
                writer.report.quarantined.append(Quarantine(item: item, file: file.path, error: error.description))
                writer.report.inputs[file.path] = Tally()
                continue
            }
            progress?.fileBytesRead.add(file.size, ordering: .relaxed)
            if file.format == .jsonl {
                let endsWithNewline = bytes.count == 0 || bytes.bytes[bytes.count - 1] == 0x0A
                if !endsWithNewline { bytes.append(0x0A) }
                try scanLines(bytes.bytes, firstLine: 1, firstOffset: 0, lastLineHasNewline: endsWithNewline, file: file,
                              writer: writer, scanner: &scanner)
                continue
            }
            guard let language = configuration.language else {
                throw FilterJobError(message: "text files carry no language field: give --lang for \(file.path)")
            }
            let location = RecordLocation(file: file.path, line: nil, offset: 0, bytes: Int64(bytes.count))
            guard String(validating: bytes.bytes, as: UTF8.self) != nil else {
                let at = firstInvalidUTF8Offset(bytes.bytes)
                try writer.reject(location, reason: "invalid UTF-8 at byte \(at) of the file", category: "invalid UTF-8",
                                  language: language, raw: nil)
                continue
            }
            id.removeAll()
            id.appendJSONString(file.path)
            record.removeAll()
            record.append("{\"id\":")
            record.append(id.bytes)
            record.append(",\"source\":")
            record.append(id.bytes)
            record.append(",\"text\":")
            record.appendJSONString(bytes.bytes)
            record.append("}\n")
            try writer.accept(location, text: bytes.bytes, language: language, id: id.bytes, record: record.bytes)
        }
        return try writer.finish(started: started)
    }

    /// Makes sure the per-input tally exists even for a unit whose records are all blank.
    private func report(_ path: String, into writer: UnitWriter) {
        if writer.report.inputs[path] == nil { writer.report.inputs[path] = Tally() }
    }
}

/// Offset of the first invalid UTF-8 sequence (the bytes are known to be invalid somewhere).
public func firstInvalidUTF8Offset(_ bytes: UnsafeRawBufferPointer) -> Int {
    let base = bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
    var index = 0
    while index < bytes.count {
        let length = utf8SequenceLength(base, index, bytes.count)
        if length == 0 { return index }
        index += length
    }
    return bytes.count
}

func base64(_ bytes: UnsafeRawBufferPointer) -> String {
    Data(bytes).base64EncodedString()
}
