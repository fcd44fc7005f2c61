/// tokenizer.json post-processors, as far as they change ids (offsets and type ids are not produced here).
///
/// As in HF `tokenizers`, a post-processor maps a list of encodings to a list of encodings, and the final list is
/// concatenated. Encoding one text starts from one encoding; TemplateProcessing returns one encoding per template
/// piece, so a processor after it in a `Sequence` sees several (BertProcessing then treats all but the first as
/// pair sequences, and a second TemplateProcessing applies its pair template to two).
indirect enum PostProcessor: Sendable {
    enum Piece: Sendable {
        case sequence(second: Bool)
        case special([Int32])
    }

    case template(single: [Piece], pair: [Piece])
    /// BertProcessing: `[CLS] A [SEP]`, then `B [SEP]` for each further encoding.
    case bert(cls: Int32, sep: Int32)
    /// RobertaProcessing: `<s> A </s>`, then `</s> B </s>` for each further encoding.
    case roberta(cls: Int32, sep: Int32)
    /// Byte-level post-processing only trims offsets: ids are unchanged.
    case none
    case sequence([PostProcessor])

    init(_ json: JSONObject, idOf: (String) -> Int32?) throws {
        let type = try json.string("type")
        switch type {
        case "TemplateProcessing":
            var specials: [String: [Int32]] = [:]
            if case .object(let map)? = json["special_tokens"] {
                for (name, value) in map {
                    let entry = try JSONObject(value, path: json.path + ".special_tokens.\(name)", file: json.file)
                    guard let ids = entry["ids"]?.array?.compactMap(\.int) else { throw entry.error("ids: expected an array of ids") }
                    specials[name] = ids.map(Int32.init)
                }
            }
            func template(_ key: String) throws -> [Piece] {
                guard json.has(key) else { return [] }
                var pieces: [Piece] = []
                for (index, item) in try json.array(key).enumerated() {
                    let piece = try JSONObject(item, path: json.path + ".\(key)[\(index)]", file: json.file)
                    if let sequence = try piece.optionalObject("Sequence") {
                        pieces.append(.sequence(second: sequence.optionalString("id") == "B"))
                    } else if let special = try piece.optionalObject("SpecialToken") {
                        let name = try special.string("id")
                        guard let ids = specials[name] ?? idOf(name).map({ [$0] }) else { throw special.error("id: unknown special token \(name.debugDescription)") }
                        pieces.append(.special(ids))
                    } else {
                        throw piece.error("expected Sequence or SpecialToken")
                    }
                }
                return pieces
            }
            self = .template(single: try template("single"), pair: try template("pair"))
        case "BertProcessing", "RobertaProcessing":
            // "cls": ["[CLS]", 101], "sep": ["[SEP]", 102]
            guard let cls = json["cls"]?.array, cls.count == 2, let clsID = cls[1].int,
                  let sep = json["sep"]?.array, sep.count == 2, let sepID = sep[1].int else {
                throw json.error("cls/sep: expected [token, id]")
            }
            self = type == "BertProcessing" ? .bert(cls: Int32(clsID), sep: Int32(sepID)) : .roberta(cls: Int32(clsID), sep: Int32(sepID))
        case "ByteLevel": self = .none
        case "Sequence": self = .sequence(try json.objects("processors").map { try PostProcessor($0, idOf: idOf) })
        default: throw json.unsupported("the post-processor \"\(type)\"")
        }
    }

    /// The ids of one encoded text with the special tokens added.
    func apply(_ ids: [Int32]) -> [Int32] {
        switch self {
        case .template(let single, _):
            // The common case, without building the list of encodings.
            var output: [Int32] = []
            output.reserveCapacity(ids.count + single.count)
            for piece in single {
                switch piece {
                case .sequence(let second): if !second { output.append(contentsOf: ids) }
                case .special(let special): output.append(contentsOf: special)
                }
            }
            return output
        case .none: return ids
        default: return process([ids]).flatMap { $0 }
        }
    }

    func process(_ encodings: [[Int32]]) -> [[Int32]] {
        switch self {
        case .template(let single, let pair):
            // HF picks the pair template for two encodings (and fails on more: here, the pair template too).
            let template = encodings.count == 1 ? single : pair
            return template.compactMap { piece in
                switch piece {
                case .sequence(let second):
                    let index = second ? 1 : 0
                    return index < encodings.count ? encodings[index] : nil
                case .special(let ids): return ids
                }
            }
        case .bert(let cls, let sep):
            return encodings.enumerated().map { index, ids in index == 0 ? [cls] + ids + [sep] : ids + [sep] }
        case .roberta(let cls, let sep):
            return encodings.enumerated().map { index, ids in index == 0 ? [cls] + ids + [sep] : [sep] + ids + [sep] }
        case .none: return encodings
        case .sequence(let items): return items.reduce(encodings) { $1.process($0) }
        }
    }
}
