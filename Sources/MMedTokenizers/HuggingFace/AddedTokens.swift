/// One added token of tokenizer.json.
struct AddedToken: Sendable {
    let id: Int32
    let content: String
    /// What the token is matched against and decoded as: its content, run through the normalizer when the token is
    /// `normalized` (HF matches and decodes the normalized form: Llama 2's `<s>` is `▁<s>` there).
    let form: String
    let bytes: [UInt8]
    let special: Bool
    let singleWord: Bool
    let leftStrip: Bool
    let rightStrip: Bool
    let normalized: Bool
}

/// A run of text or an added token found in it.
enum Segment {
    case text(Range<Int>)
    case token(Int32)
}

/// The added tokens, matched in the text before pre-tokenization, leftmost-longest as HF does: tokens with
/// `normalized: false` in the raw text, the others in the normalized text.
struct AddedTokens: Sendable {
    let all: [AddedToken]
    private let byID: [Int32: Int]
    private let byContent: [String: Int32]
    /// Per first byte, candidate token indexes, longest first; one table per stage (raw, normalized).
    private let candidates: [[[Int]]]
    let maximumID: Int

    /// Contents of the special tokens: decoding with `skipSpecialTokens` drops a token whose form is one of them.
    private let specialContents: Set<String>

    init(_ json: [JSONObject], normalizer: Normalizer?) throws {
        var all: [AddedToken] = []
        for entry in json {
            let content = try entry.string("content")
            let special = entry.bool("special", default: false)
            let normalized = entry.bool("normalized", default: !special)
            let form = normalized ? (normalizer?.normalize(content) ?? content) : content
            all.append(AddedToken(id: Int32(try entry.int("id")), content: content, form: form, bytes: Array(form.utf8), special: special,
                                  singleWord: entry.bool("single_word", default: false), leftStrip: entry.bool("lstrip", default: false),
                                  rightStrip: entry.bool("rstrip", default: false), normalized: normalized))
        }
        self.all = all
        specialContents = Set(all.filter(\.special).map(\.content))
        var byID: [Int32: Int] = [:], byContent: [String: Int32] = [:]
        for (index, token) in all.enumerated() { byID[token.id] = index; byContent[token.content] = token.id }
        self.byID = byID
        self.byContent = byContent
        var candidates = [[[Int]]](repeating: [[Int]](repeating: [], count: 256), count: 2)
        for (index, token) in all.enumerated() where !token.bytes.isEmpty {
            candidates[token.normalized ? 1 : 0][Int(token.bytes[0])].append(index)
        }
        for stage in 0..<2 {
            for byte in 0..<256 { candidates[stage][byte].sort { all[$0].bytes.count > all[$1].bytes.count } }
        }
        self.candidates = candidates
        maximumID = all.map { Int($0.id) }.max() ?? -1
    }

    func token(id: Int32) -> AddedToken? { byID[id].map { all[$0] } }
    func isSkippedAsSpecial(_ token: AddedToken) -> Bool { specialContents.contains(token.form) }
    func id(of content: String) -> Int32? { byContent[content] }

    /// Calls `body` with the text runs and the tokens of `text`, in order.
    func split(_ text: [UInt8], normalizedStage: Bool, _ body: (Segment) -> Void) {
        let table = candidates[normalizedStage ? 1 : 0]
        var textStart = 0
        var index = 0
        let count = text.count
        while index < count {
            let options = table[Int(text[index])]
            var matched: AddedToken? = nil
            for option in options {
                let token = all[option]
                let end = index + token.bytes.count
                guard end <= count, text[index..<end].elementsEqual(token.bytes) else { continue }
                if token.singleWord, !isWordBoundary(text, before: index) || !isWordBoundary(text, after: end) { continue }
                matched = token
                break
            }
            guard let token = matched else { index += 1; continue }
            var start = index, end = index + token.bytes.count
            if token.leftStrip { while start > textStart, isSpace(text[start - 1]) { start -= 1 } }
            if token.rightStrip { while end < count, isSpace(text[end]) { end += 1 } }
            if start > textStart { body(.text(textStart..<start)) }
            body(.token(token.id))
            textStart = end
            index = end
        }
        if textStart < count { body(.text(textStart..<count)) }
    }

    private func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) }

    private func isWordBoundary(_ text: [UInt8], before index: Int) -> Bool {
        guard index > 0 else { return true }
        var start = index - 1
        while start > 0, text[start] & 0xC0 == 0x80 { start -= 1 }
        return !isWordCharacter(String(decoding: text[start..<index], as: UTF8.self).unicodeScalars.first!)
    }

    private func isWordBoundary(_ text: [UInt8], after index: Int) -> Bool {
        guard index < text.count else { return true }
        let end = min(text.count, index + utf8Length(text[index]))
        return !isWordCharacter(String(decoding: text[index..<end], as: UTF8.self).unicodeScalars.first!)
    }

    private func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.isAlphabetic || scalar.properties.generalCategory == .decimalNumber || scalar == "_" || isMark(scalar)
    }
}
