import Foundation
import MMedIO
import MMedText

/// Each source's native format, converted question by question (docs/mmedbench-sources.md has the mapping).
extension BenchImporter {
    static func convert(source: BenchSource, path: String, options: ImportOptions) throws -> (Language, [ImportedQuestion]) {
        switch source {
        case .medqa: return try medQA(path: path, options: options)
        case .igakuqa: return (.ja, try problemFile(path: path, options: options, idPrefix: ""))
        case .frenchmedmcqa: return (.fr, try frenchMedMCQA(path: path))
        case .rumeddanet: return (.ru, try ruMedDaNet(path: path))
        case .headqa: return try headQA(path: path, options: options)
        case .mmlu:
            if path.lowercased().hasSuffix(".csv") { return (.en, try mmluCSV(path: path)) }
            return (.en, try problemFile(path: path, options: options, idPrefix: "mmlu-"))
        case .medmcqa: return (.en, try medMCQA(path: path, options: options))
        case .pubmedqa: return (.en, try pubMedQA(path: path))
        }
    }

    struct FieldReader {
        var value: JSONValue
        var file: String
        var line: Int?

        func fail(_ field: String, _ message: String) -> BenchFormatError {
            BenchFormatError(file: file, line: line, field: field, message)
        }
        func string(_ key: String) throws -> String {
            guard let text = value[key]?.string else { throw fail(key, "expected a string") }
            return text
        }
        func optionalString(_ key: String) -> String? { value[key]?.string }
        func strings(_ key: String) throws -> [String] {
            guard let array = value[key]?.array else { throw fail(key, "expected a list") }
            return try array.map { element in
                guard let text = element.string else { throw fail(key, "expected a list of strings") }
                return text
            }
        }
        /// A string or number id as text.
        func id(_ key: String) -> String? {
            switch value[key] {
            case .string(let text)?: return text
            case .number(let number)?: return number == number.rounded() ? String(Int(number)) : String(number)
            default: return nil
            }
        }
    }

    /// The problem format of IgakuQA and of the aistairc/medLLM_QA_benchmark files (MedQA, MedMCQA and MMLU samples):
    /// `problem_id`, `problem_text`, `choices` (a list), `answer` (lower-case letters), `text_only`.
    static func problemFile(path: String, options: ImportOptions, idPrefix: String) throws -> [ImportedQuestion] {
        try MMedBench.readJSONLines(path).map { line, value in
            let r = FieldReader(value: value, file: path, line: line)
            let choices = try r.strings("choices")
            let answers = try r.strings("answer")
            if value["text_only"]?.bool == false && !options.includeImageQuestions { return .excluded("needs an image") }
            if choices.isEmpty { return .excluded("no options (numeric answer)") }
            guard choices.count <= letters.count else { throw r.fail("choices", "more than \(letters.count) options") }
            let optionList = choices.enumerated().map { BenchItem.Option(key: letters[$0.offset], text: $0.element) }
            var keys: [String] = []
            for answer in answers {
                let key = answer.uppercased()
                guard let index = letters.firstIndex(of: key), index < choices.count else {
                    throw r.fail("answer", "'\(answer)' is not one of the \(choices.count) choices")
                }
                keys.append(letters[index])
            }
            guard !keys.isEmpty else { throw r.fail("answer", "empty") }
            let id = idPrefix + (r.id("problem_id") ?? "\((path as NSString).lastPathComponent)-\(line)")
            return .item(BenchItem(id: id, question: try r.string("problem_text"), options: optionList, answer: keys.sorted(),
                                   metaInfo: .string((path as NSString).lastPathComponent)))
        }
    }

    /// MedQA: the original release (`question`, `options` {A…}, `answer_idx`, `answer`, `meta_info`) or the problem
    /// format. USMLE is English, MCMLE Chinese: `--language`, else told from the text.
    static func medQA(path: String, options: ImportOptions) throws -> (Language, [ImportedQuestion]) {
        let lines = try MMedBench.readJSONLines(path)
        let first = lines.first?.value
        let sample = first?["question"]?.string ?? first?["problem_text"]?.string ?? ""
        let language = options.language ?? (looksChinese(sample) ? .zh : .en)
        if first?["problem_text"] != nil {
            return (language, try problemFile(path: path, options: options, idPrefix: "medqa-\(language.rawValue)-"))
        }
        let items: [ImportedQuestion] = try lines.map { line, value in
            let r = FieldReader(value: value, file: path, line: line)
            guard let members = value["options"]?.members else { throw r.fail("options", "expected an object") }
            let optionList = try members.map { member -> BenchItem.Option in
                guard let text = member.value.string else { throw r.fail("options.\(member.key)", "expected a string") }
                return BenchItem.Option(key: member.key, text: text)
            }
            let key = try r.string("answer_idx")
            guard optionList.contains(where: { $0.key == key }) else { throw r.fail("answer_idx", "'\(key)' is not an option") }
            return .item(BenchItem(
                id: "medqa-\(language.rawValue)-\((path as NSString).lastPathComponent)-\(line)", question: try r.string("question"),
                options: optionList, answer: [key], answerIsList: false, answerText: r.optionalString("answer"),
                metaInfo: value["meta_info"] ?? .string("")))
        }
        return (language, items)
    }

    /// FrenchMedMCQA: a JSON list of `question`, `answers` {a…e}, `correct_answers` (a list), `type`, `subject_name`.
    /// Multi-answer items keep the list.
    static func frenchMedMCQA(path: String) throws -> [ImportedQuestion] {
        guard let records = try readJSON(path).array else { throw BenchFormatError(file: path, "expected a JSON list of questions") }
        return try records.enumerated().map { index, value in
            let r = FieldReader(value: value, file: "\(path) [item \(index)]", line: nil)
            guard let members = value["answers"]?.members else { throw r.fail("answers", "expected an object") }
            let optionList = try members.map { member -> BenchItem.Option in
                guard let text = member.value.string else { throw r.fail("answers.\(member.key)", "expected a string") }
                return BenchItem.Option(key: member.key.uppercased(), text: text)
            }
            let keys = try r.strings("correct_answers").map { $0.uppercased() }
            for key in keys where !optionList.contains(where: { $0.key == key }) { throw r.fail("correct_answers", "'\(key)' is not an option") }
            guard !keys.isEmpty else { throw r.fail("correct_answers", "empty") }
            return .item(BenchItem(
                id: r.id("id") ?? "frenchmedmcqa-\(index)", question: try r.string("question"), options: optionList,
                answer: keys, answerIsList: keys.count > 1, metaInfo: .string(r.optionalString("subject_name") ?? "")))
        }
    }

    /// RuMedDaNet: yes/no questions about a context (`context`, `question`, `answer` да/нет, `pairID`). The context
    /// goes into the question; the options are A. да, B. нет.
    static func ruMedDaNet(path: String) throws -> [ImportedQuestion] {
        try MMedBench.readJSONLines(path).map { line, value in
            let r = FieldReader(value: value, file: path, line: line)
            let answer = PythonText.strip(try r.string("answer")).lowercased()
            let key: String
            switch answer {
            case "да": key = "A"
            case "нет": key = "B"
            default: throw r.fail("answer", "expected да or нет, found '\(answer)'")
            }
            return .item(BenchItem(
                id: r.id("pairID") ?? "rumeddanet-\(line)",
                question: try r.string("context") + "\n" + (try r.string("question")),
                options: [.init(key: "A", text: "да"), .init(key: "B", text: "нет")], answer: [key], answerIsList: false))
        }
    }

    /// HEAD-QA: `exams` → `data` with `qid`, `qtext`, `ra` (the right `aid`), `answers` [{aid, atext}], `image`.
    /// Spanish or English (the translation): from `language` in the file.
    static func headQA(path: String, options: ImportOptions) throws -> (Language, [ImportedQuestion]) {
        let root = try readJSON(path)
        let language = options.language ?? ((root["language"]?.string ?? "es").lowercased().hasPrefix("en") ? .en : .es)
        guard let exams = root["exams"]?.members else { throw BenchFormatError(file: path, field: "exams", "expected an object of exams") }
        var questions: [ImportedQuestion] = []
        for exam in exams {
            guard let data = exam.value["data"]?.array else {
                throw BenchFormatError(file: path, field: "exams.\(exam.key).data", "expected a list of questions")
            }
            for (index, value) in data.enumerated() {
                let r = FieldReader(value: value, file: "\(path) [\(exam.key) #\(index)]", line: nil)
                if let image = value["image"]?.string, !image.isEmpty, !options.includeImageQuestions {
                    questions.append(.excluded("needs an image"))
                    continue
                }
                guard let answers = value["answers"]?.array, !answers.isEmpty else { throw r.fail("answers", "expected a list") }
                var optionList: [BenchItem.Option] = []
                var aids: [String] = []
                for (position, answer) in answers.enumerated() {
                    let a = FieldReader(value: answer, file: r.file, line: nil)
                    guard position < letters.count else { throw r.fail("answers", "too many answers") }
                    optionList.append(.init(key: letters[position], text: try a.string("atext")))
                    aids.append(a.id("aid") ?? "")
                }
                guard let right = r.id("ra"), let position = aids.firstIndex(of: right) else {
                    throw r.fail("ra", "the right answer is not one of the answers' aid")
                }
                let meta: JSONValue = .object([
                    ("exam", .string(exam.key)), ("category", exam.value["category"] ?? .null), ("year", exam.value["year"] ?? .null),
                ])
                questions.append(.item(BenchItem(
                    id: "\(exam.key)-\(r.id("qid") ?? String(index))", question: try r.string("qtext"), options: optionList,
                    answer: [letters[position]], answerIsList: false, metaInfo: meta)))
            }
        }
        return (language, questions)
    }

    /// MedMCQA: the original (`question`, `opa`…`opd`, `cop`, `exp` → rationale, `subject_name`, `id`) or the problem
    /// format. `cop` is 1-based in the original release, 0-based in the Hugging Face copy (told by a 0 in the file).
    static func medMCQA(path: String, options: ImportOptions) throws -> [ImportedQuestion] {
        let lines = try MMedBench.readJSONLines(path)
        if lines.first?.value["problem_text"] != nil {
            return try problemFile(path: path, options: options, idPrefix: "medmcqa-")
        }
        let zeroBased = lines.contains { $0.value["cop"]?.int == 0 }
        return try lines.map { line, value in
            let r = FieldReader(value: value, file: path, line: line)
            let optionList = try ["opa", "opb", "opc", "opd"].enumerated().map { index, key in
                BenchItem.Option(key: letters[index], text: try r.string(key))
            }
            guard let cop = value["cop"]?.int else { throw r.fail("cop", "expected the number of the correct option") }
            let index = zeroBased ? cop : cop - 1
            guard (0..<4).contains(index) else { throw r.fail("cop", "\(cop) is not an option number") }
            return .item(BenchItem(
                id: r.id("id") ?? "medmcqa-\(line)", question: try r.string("question"), options: optionList,
                answer: [letters[index]], answerIsList: false, metaInfo: .string(r.optionalString("subject_name") ?? ""),
                rationale: r.optionalString("exp") ?? ""))
        }
    }

    /// MMLU's CSV files: question, four options, the answer letter (no header).
    static func mmluCSV(path: String) throws -> [ImportedQuestion] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw BenchFormatError(file: path, "cannot read as UTF-8") }
        let rows = parseCSV(text)
        return try rows.enumerated().compactMap { index, fields in
            if fields.count == 1 && fields[0].isEmpty { return nil }
            guard fields.count == 6 else {
                throw BenchFormatError(file: path, line: index + 1, "expected 6 fields (question, A, B, C, D, answer), found \(fields.count)")
            }
            let key = PythonText.strip(fields[5]).uppercased()
            guard ["A", "B", "C", "D"].contains(key) else {
                throw BenchFormatError(file: path, line: index + 1, field: "answer", "'\(fields[5])' is not A–D")
            }
            let stem = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
            return .item(BenchItem(
                id: "mmlu-\(stem)-\(index + 1)", question: fields[0],
                options: (0..<4).map { BenchItem.Option(key: letters[$0], text: fields[$0 + 1]) }, answer: [key],
                answerIsList: false, metaInfo: .string(stem)))
        }
    }

    /// PubMedQA PQA-L (`ori_pqal.json`): {PMID: {QUESTION, CONTEXTS, LONG_ANSWER, final_decision}}. The contexts go
    /// into the question, the options are A. yes, B. no, C. maybe, and the long answer is the rationale.
    static func pubMedQA(path: String) throws -> [ImportedQuestion] {
        guard let records = try readJSON(path).members else { throw BenchFormatError(file: path, "expected an object keyed by PMID") }
        return try records.map { pmid, value in
            let r = FieldReader(value: value, file: "\(path) [\(pmid)]", line: nil)
            let contexts = try r.strings("CONTEXTS")
            let decision = try r.string("final_decision")
            guard let index = ["yes", "no", "maybe"].firstIndex(of: decision) else {
                throw r.fail("final_decision", "expected yes, no or maybe, found '\(decision)'")
            }
            return .item(BenchItem(
                id: "pubmedqa-\(pmid)", question: contexts.joined(separator: " ") + "\n" + (try r.string("QUESTION")),
                options: [.init(key: "A", text: "yes"), .init(key: "B", text: "no"), .init(key: "C", text: "maybe")],
                answer: [letters[index]], answerIsList: false, rationale: r.optionalString("LONG_ANSWER") ?? ""))
        }
    }

    /// RFC 4180 CSV: quoted fields with doubled quotes and embedded newlines.
    static func parseCSV(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var fields: [String] = []
        var field = ""
        var quoted = false
        var iterator = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        while let c = pending ?? iterator.next() {
            pending = nil
            if quoted {
                if c == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" { field.unicodeScalars.append("\"") } else { quoted = false; pending = next }
                    } else { quoted = false }
                } else {
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"": quoted = true
            case ",": fields.append(field); field = ""
            case "\r": continue
            case "\n": fields.append(field); rows.append(fields); fields = []; field = ""
            default: field.unicodeScalars.append(c)
            }
        }
        if !field.isEmpty || !fields.isEmpty { fields.append(field); rows.append(fields) }
        return rows
    }
}
