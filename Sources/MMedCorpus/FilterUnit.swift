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

extension CorpusFilterJob {
    /// One scorer per language, made on first use (a scorer holds per-thread scratch space).
    final class Scorers {
        let filters: [Language: MedicalKeywordFilter]
        private var scorers: [Language: KeywordScorer] = [:]
        init(filters: [Language: MedicalKeywordFilter]) { self.filters = filters }
        func scorer(_ language: Language) -> KeywordScorer? {
            if let scorer = scorers[language] { return scorer }
            guard let filter = filters[language] else { return nil }
            let scorer = KeywordScorer(matcher: filter.matcher)
            scorers[language] = scorer
            return scorer
        }
    }

    func processLines(_ chunk: LineChunk, file: InputFile, item: Int, unit: String, progress: FilterProgress?) throws -> UnitReport {
        let started = DispatchTime.now()
        var report = UnitReport(unit: unit, item: item)
        let outputs = UnitOutputs(directory: output, unit: unit, writeDropped: configuration.writeDropped)
        let scorers = Scorers(filters: configuration.filters)
        let textField = configuration.textField
        var keys = [textField, configuration.idField]
        if let languageField = configuration.languageField { keys.append(languageField) }
        var scanner = JSONObjectScanner(keys: keys, deferValidation: [textField])
        var unescaped: [UInt8] = []
        var inputTally = Tally()
        var pendingScored = 0, pendingKept = 0, pendingBytes: Int64 = 0
        let pathPrefix = ByteBuffer(capacity: 256)
        pathPrefix.append("{\"file\":")
        pathPrefix.appendJSONString(file.path)
        pathPrefix.append(",\"line\":")
        let quotedPathPrefix = pathPrefix.bytes

        try { (all: UnsafeRawBufferPointer) in
            var position = 0
            var lineNumber = chunk.firstLine
            let total = all.count
            while position < total {
                let start = position
                let newline = memchr(all.baseAddress! + start, 0x0A, total - start)!
                let end = UnsafeRawPointer(newline) - all.baseAddress!
                position = end + 1
                defer { lineNumber += 1 }
                let line = UnsafeRawBufferPointer(rebasing: all[start..<end])
                let isLastLine = position == total
                let recordBytes = Int64(line.count + (isLastLine && !chunk.lastLineHasNewline ? 0 : 1))
                let offset = chunk.firstOffset + Int64(start)
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                    report.blankLines += 1
                    continue
                }

                func reject(_ reason: String, language: String = "unknown", category: String) throws {
                    var tally = report.languages[language] ?? Tally()
                    tally.record(.rejected, bytes: recordBytes)
                    report.languages[language] = tally
                    inputTally.record(.rejected, bytes: recordBytes)
                    report.total.record(.rejected, bytes: recordBytes)
                    report.rejectReasons[category, default: 0] += 1
                    let row = outputs.rejectBuffer
                    row.append("{\"file\":")
                    row.appendJSONString(file.path)
                    row.append(",\"line\":\(lineNumber),\"offset\":\(offset),\"reason\":")
                    row.appendJSONString(reason)
                    if let text = String(validating: line, as: UTF8.self) {
                        row.append(",\"record\":")
                        row.appendJSONString(text)
                    } else {
                        row.append(",\"record_base64\":\"")
                        row.append(base64(line))
                        row.append("\"")
                    }
                    row.append("}\n")
                    try outputs.flushRejected()
                }

                do {
                    try scanner.scan(line)
                } catch {
                    try reject("malformed JSON: \(error)", category: "malformed JSON")
                    continue
                }
                // Language of the document.
                var language: Language
                if let field = configuration.languageField, let value = scanner.values[2] {
                    guard value.kind == .string, !value.hasEscapes,
                          let code = String(validating: UnsafeRawBufferPointer(rebasing: line[value.range]), as: UTF8.self) else {
                        try reject("field \"\(field)\" is not a language code string", category: "bad language field"); continue
                    }
                    guard let parsed = Language(code: code) else {
                        try reject("unsupported language \"\(code)\" in field \"\(field)\" (supported: \(Language.supportedCodes))", category: "unsupported language"); continue
                    }
                    language = parsed
                } else if let fallback = configuration.language {
                    language = fallback
                } else {
                    try reject("missing field \"\(configuration.languageField!)\"", category: "missing language field"); continue
                }
                guard let scorer = scorers.scorer(language), let filter = configuration.filters[language] else {
                    try reject("no keyword list for language \"\(language.rawValue)\"", language: language.rawValue, category: "no keyword list for language"); continue
                }
                guard let textValue = scanner.values[0] else {
                    try reject("missing field \"\(textField)\"", language: language.rawValue, category: "missing text field"); continue
                }
                guard textValue.kind == .string else {
                    try reject("field \"\(textField)\" is \(describe(textValue.kind)), not a string", language: language.rawValue, category: "text field not a string"); continue
                }
                let text = UnsafeRawBufferPointer(rebasing: line[textValue.range])
                let outcome: Result<KeywordScorer.Score, KeywordScorer.Failure>
                if textValue.hasEscapes {
                    do {
                        try JSONObjectScanner.unescape(text, into: &unescaped)
                    } catch {
                        try reject("field \"\(textField)\": \(error)", language: language.rawValue, category: "bad escape in text"); continue
                    }
                    outcome = unescaped.withUnsafeBytes { scorer.score($0) }
                } else {
                    outcome = scorer.score(text)
                }
                let score: KeywordScorer.Score
                switch outcome {
                case .success(let value): score = value
                case .failure(.invalidUTF8(let at)):
                    try reject("field \"\(textField)\": invalid UTF-8 at byte \(at) of the text", language: language.rawValue, category: "invalid UTF-8")
                    continue
                }
                let keep = filter.keeps(score)
                try outputs.writeDocument(UnsafeRawBufferPointer(rebasing: all[start..<(end + 1)]), kept: keep)
                var tally = report.languages[language.rawValue] ?? Tally()
                tally.record(keep ? .kept : .dropped, bytes: recordBytes)
                report.languages[language.rawValue] = tally
                inputTally.record(keep ? .kept : .dropped, bytes: recordBytes)
                report.total.record(keep ? .kept : .dropped, bytes: recordBytes)

                let row = outputs.attributeBuffer
                row.append(quotedPathPrefix)
                row.appendDecimal(lineNumber)
                row.append(",\"offset\":")
                row.appendDecimal(offset)
                row.append(",\"id\":")
                if let id = scanner.values[1], id.kind == .string || id.kind == .number {
                    let raw = UnsafeRawBufferPointer(rebasing: line[id.range])
                    if id.kind == .string { row.append(0x22); row.append(raw); row.append(0x22) } else { row.append(raw) }
                } else {
                    row.append("null")
                }
                appendScore(row, language: language, score: score, keep: keep)
                try outputs.flushAttributes()

                pendingScored += 1
                if keep { pendingKept += 1 }
                pendingBytes += recordBytes
                if pendingScored >= 4096, let progress {
                    progress.documentsScored.add(pendingScored, ordering: .relaxed)
                    progress.documentsKept.add(pendingKept, ordering: .relaxed)
                    progress.bytesProcessed.add(pendingBytes, ordering: .relaxed)
                    pendingScored = 0; pendingKept = 0; pendingBytes = 0
                }
            }
        }(chunk.storage.buffer.bytes)
        if let progress {
            progress.documentsScored.add(pendingScored, ordering: .relaxed)
            progress.documentsKept.add(pendingKept, ordering: .relaxed)
            progress.bytesProcessed.add(pendingBytes, ordering: .relaxed)
        }
        report.inputs[file.path] = inputTally
        report.outputs = try outputs.commit()
        report.seconds = seconds(since: started)
        return report
    }

    /// A group of text files, each one document; written out as `{"id": path, "source": path, "text": ...}`.
    func processTextGroup(_ item: PlanItem, unit: String, progress: FilterProgress?) throws -> UnitReport {
        let started = DispatchTime.now()
        var report = UnitReport(unit: unit, item: item.index)
        let outputs = UnitOutputs(directory: output, unit: unit, writeDropped: configuration.writeDropped)
        let scorers = Scorers(filters: configuration.filters)
        guard let language = configuration.language else {
            throw FilterJobError(message: "text files carry no language field: give --lang for \(item.files[0].path)")
        }
        let record = ByteBuffer(capacity: 1 << 16)
        for file in item.files {
            var tally = Tally()
            var bytes = ByteBuffer(capacity: 1 << 16)
            do {
                let source = try openByteSource(path: file.path, compression: file.compression)
                while let chunk = try source.nextChunk() { bytes.append(chunk) }
            } catch let error as MMedIOError where error.kind == .corruptCompressed || error.kind == .truncatedCompressed {
                report.quarantined.append(Quarantine(item: item.index, file: file.path, error: error.description))
                report.inputs[file.path] = tally
                continue
            }
            let size = Int64(bytes.count)
            progress?.fileBytesRead.add(file.size, ordering: .relaxed)
            let outcome = scorers.scorer(language)!.score(bytes.bytes)
            switch outcome {
            case .failure(.invalidUTF8(let at)):
                tally.record(.rejected, bytes: size)
                report.total.record(.rejected, bytes: size)
                var languageTally = report.languages[language.rawValue] ?? Tally()
                languageTally.record(.rejected, bytes: size)
                report.languages[language.rawValue] = languageTally
                report.rejectReasons["invalid UTF-8", default: 0] += 1
                let row = outputs.rejectBuffer
                row.append("{\"file\":")
                row.appendJSONString(file.path)
                row.append(",\"line\":null,\"offset\":\(at),\"reason\":")
                row.appendJSONString("invalid UTF-8 at byte \(at) of the file")
                row.append("}\n")
            case .success(let score):
                let keep = configuration.filters[language]!.keeps(score)
                record.removeAll()
                record.append("{\"id\":")
                record.appendJSONString(file.path)
                record.append(",\"source\":")
                record.appendJSONString(file.path)
                record.append(",\"text\":")
                record.appendJSONString(bytes.bytes)
                record.append("}\n")
                try outputs.writeDocument(record.bytes, kept: keep)
                tally.record(keep ? .kept : .dropped, bytes: size)
                report.total.record(keep ? .kept : .dropped, bytes: size)
                var languageTally = report.languages[language.rawValue] ?? Tally()
                languageTally.record(keep ? .kept : .dropped, bytes: size)
                report.languages[language.rawValue] = languageTally
                let row = outputs.attributeBuffer
                row.append("{\"file\":")
                row.appendJSONString(file.path)
                row.append(",\"line\":null,\"offset\":0,\"id\":")
                row.appendJSONString(file.path)
                appendScore(row, language: language, score: score, keep: keep)
                progress?.documentsScored.add(1, ordering: .relaxed)
                if keep { progress?.documentsKept.add(1, ordering: .relaxed) }
                progress?.bytesProcessed.add(size, ordering: .relaxed)
            }
            report.inputs[file.path] = tally
            bytes = ByteBuffer(capacity: 16)
        }
        report.outputs = try outputs.commit()
        report.seconds = seconds(since: started)
        return report
    }

    private func appendScore(_ row: ByteBuffer, language: Language, score: KeywordScorer.Score, keep: Bool) {
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
    }
}

private func describe(_ kind: JSONObjectScanner.ValueKind) -> String {
    switch kind {
    case .string: "a string"
    case .number: "a number"
    case .bool: "a boolean"
    case .null: "null"
    case .object: "an object"
    case .array: "an array"
    }
}

func base64(_ bytes: UnsafeRawBufferPointer) -> String {
    Data(bytes).base64EncodedString()
}
