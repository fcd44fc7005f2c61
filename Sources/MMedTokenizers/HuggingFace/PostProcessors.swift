/// tokenizer.json post-processors, as far as they change ids (offsets and type ids are not produced here).
indirect enum PostProcessor: Sendable {
    /// The single-sequence template: ids before and after the sequence.
    case template(prefix: [Int32], suffix: [Int32])
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
            var prefix: [Int32] = [], suffix: [Int32] = []
            var seenSequence = false
            for (index, item) in try json.array("single").enumerated() {
                let piece = try JSONObject(item, path: json.path + ".single[\(index)]", file: json.file)
                if piece.has("Sequence") {
                    guard !seenSequence else { throw piece.error("a template with two sequences is not a single template") }
                    seenSequence = true
                } else if let special = try piece.optionalObject("SpecialToken") {
                    let name = try special.string("id")
                    guard let ids = specials[name] ?? idOf(name).map({ [$0] }) else { throw special.error("id: unknown special token \(name.debugDescription)") }
                    if seenSequence { suffix += ids } else { prefix += ids }
                } else {
                    throw piece.error("expected Sequence or SpecialToken")
                }
            }
            self = .template(prefix: prefix, suffix: suffix)
        case "BertProcessing", "RobertaProcessing":
            // "cls": ["[CLS]", 101], "sep": ["[SEP]", 102]
            guard let cls = json["cls"]?.array, cls.count == 2, let clsID = cls[1].int,
                  let sep = json["sep"]?.array, sep.count == 2, let sepID = sep[1].int else {
                throw json.error("cls/sep: expected [token, id]")
            }
            self = .template(prefix: [Int32(clsID)], suffix: [Int32(sepID)])
        case "ByteLevel": self = .none
        case "Sequence": self = .sequence(try json.objects("processors").map { try PostProcessor($0, idOf: idOf) })
        default: throw json.unsupported("the post-processor \"\(type)\"")
        }
    }

    func apply(_ ids: [Int32]) -> [Int32] {
        switch self {
        case .template(let prefix, let suffix): return prefix + ids + suffix
        case .none: return ids
        case .sequence(let items): return items.reduce(ids) { $1.apply($0) }
        }
    }
}
