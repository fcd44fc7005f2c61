import MMedIO
import MMedText

/// One MMedBench question, as a line of `Train/<Language>.jsonl` or `Test/<Language>.jsonl` of the release.
public struct BenchItem: Sendable {
    public struct Option: Sendable, Equatable {
        public var key: String
        public var text: String
        public init(key: String, text: String) { self.key = key; self.text = text }
    }

    /// The item's id: the release has none, so it is the importer's source id, else `<Language>-<line>`.
    public var id: String
    public var question: String
    /// A–E, in file order.
    public var options: [Option]
    /// The correct option keys; one for single-answer items.
    public var answer: [String]
    /// `answer_idx` was a list in the file (FrenchMedMCQA, IgakuQA multi-answer items); kept as a list on output.
    public var answerIsList: Bool
    /// The text of the correct option(s) (`answer`).
    public var answerText: String
    public var metaInfo: JSONValue
    public var rationale: String
    public var humanChecked: Bool
    public var humanCheckPassed: Bool

    public init(
        id: String, question: String, options: [Option], answer: [String], answerIsList: Bool? = nil,
        answerText: String? = nil, metaInfo: JSONValue = .string(""), rationale: String = "",
        humanChecked: Bool = false, humanCheckPassed: Bool = false
    ) {
        self.id = id
        self.question = question
        self.options = options
        self.answer = answer
        self.answerIsList = answerIsList ?? (answer.count > 1)
        self.answerText = answerText ?? answer.compactMap { key in options.first { $0.key == key }?.text }.joined(separator: ",")
        self.metaInfo = metaInfo
        self.rationale = rationale
        self.humanChecked = humanChecked
        self.humanCheckPassed = humanCheckPassed
    }

    /// `answer_idx` as the original scripts print it: the key, or the keys joined by ",".
    public var answerIDs: String { answer.joined(separator: ",") }

    /// The JSON line of the release layout.
    public var jsonLine: String {
        var members: [(key: String, value: JSONValue)] = [
            ("question", .string(question)),
            ("options", .object(options.map { ($0.key, JSONValue.string($0.text)) })),
            ("answer_idx", answerIsList ? .array(answer.map { .string($0) }) : .string(answer.first ?? "")),
            ("answer", .string(answerText)),
            ("meta_info", metaInfo),
            ("rationale", .string(rationale)),
            ("human_checked", .bool(humanChecked)),
            ("human_check_passed", .bool(humanCheckPassed)),
        ]
        members.append(("id", .string(id)))
        return JSONValue.object(members).jsonText
    }
}

/// A line that is not a valid MMedBench record: names the file, line and field.
public struct BenchFormatError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int?
    public var field: String?
    public var message: String

    public init(file: String, line: Int? = nil, field: String? = nil, _ message: String) {
        self.file = file
        self.line = line
        self.field = field
        self.message = message
    }

    public var description: String {
        var location = file
        if let line { location += ":\(line)" }
        if let field { location += ": field '\(field)'" }
        return "\(location): \(message)"
    }
}

extension BenchItem {
    /// Parses one release line; `fallbackID` names items without an `id`.
    public static func parse(_ value: JSONValue, file: String, lineNumber: Int, fallbackID: String) throws -> BenchItem {
        func fail(_ field: String?, _ message: String) -> BenchFormatError {
            BenchFormatError(file: file, line: lineNumber, field: field, message)
        }
        guard value.members != nil else { throw fail(nil, "expected a JSON object") }
        func string(_ key: String, required: Bool = true) throws -> String {
            guard let field = value[key], !field.isNull else {
                if required { throw fail(key, "missing") }
                return ""
            }
            guard let text = field.string else { throw fail(key, "expected a string") }
            return text
        }
        func bool(_ key: String) throws -> Bool {
            guard let field = value[key], !field.isNull else { return false }
            if let flag = field.bool { return flag }
            if let number = field.number { return number != 0 }  // some releases write 0/1
            throw fail(key, "expected true or false")
        }
        let question = try string("question")
        guard let optionMembers = value["options"]?.members else { throw fail("options", "expected an object of options") }
        var options: [Option] = []
        for member in optionMembers {
            guard let text = member.value.string else { throw fail("options.\(member.key)", "expected a string") }
            options.append(Option(key: member.key, text: text))
        }
        guard !options.isEmpty else { throw fail("options", "no options") }
        let answer: [String]
        let isList: Bool
        switch value["answer_idx"] {
        case .string(let key)?:
            answer = [key]
            isList = false
        case .array(let keys)?:
            answer = try keys.map { key in
                guard let text = key.string else { throw fail("answer_idx", "expected option keys") }
                return text
            }
            isList = true
        default:
            throw fail("answer_idx", "expected an option key or a list of option keys")
        }
        guard !answer.isEmpty else { throw fail("answer_idx", "empty") }
        for key in answer where !options.contains(where: { $0.key == key }) {
            throw fail("answer_idx", "'\(key)' is not one of the options \(options.map(\.key).joined(separator: ", "))")
        }
        let id = try string("id", required: false)
        return BenchItem(
            id: id.isEmpty ? fallbackID : id, question: question, options: options, answer: answer,
            answerIsList: isList, answerText: try string("answer", required: false), metaInfo: value["meta_info"] ?? .null,
            rationale: try string("rationale", required: false), humanChecked: try bool("human_checked"),
            humanCheckPassed: try bool("human_check_passed"))
    }
}
