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
    /// Whether decoding with `skipSpecialTokens` drops a token spelled `string` (HF compares the string it decodes,
    /// a normalized added token's normalized form included, with the special tokens' contents).
    func isSkippedAsSpecial(_ string: String) -> Bool { !specialContents.isEmpty && specialContents.contains(string) }
    func id(of content: String) -> Int32? { byContent[content] }

    /// Calls `body` with the text runs and the tokens of `text`, in order. As HF: at each position the longest token
    /// (leftmost-longest); a `single_word` token with a word character beside it is discarded and the search goes
    /// on after it (no shorter token is tried there); `lstrip`/`rstrip` take in the Unicode whitespace (`\s`)
    /// before/after the token.
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
                matched = token
                break
            }
            guard let token = matched else { index += 1; continue }
            var start = index, end = index + token.bytes.count
            if token.singleWord, !isWordBoundary(text, before: start) || !isWordBoundary(text, after: end) {
                index = end
                continue
            }
            if token.leftStrip {
                while start > textStart, let (scalar, length) = scalar(before: start, in: text), scalar.properties.isWhitespace {
                    start -= length
                }
                start = max(start, textStart)
            }
            if token.rightStrip {
                while end < count, let (scalar, length) = scalar(at: end, in: text), scalar.properties.isWhitespace { end += length }
            }
            if start > textStart { body(.text(textStart..<start)) }
            body(.token(token.id))
            textStart = end
            index = end
        }
        if textStart < count { body(.text(textStart..<count)) }
    }

    /// Whether some token is matched in the normalized text.
    var hasNormalizedTokens: Bool { all.contains { $0.normalized && !$0.bytes.isEmpty } }

    private func scalar(at index: Int, in text: [UInt8]) -> (Unicode.Scalar, Int)? {
        let end = min(text.count, index + utf8Length(text[index]))
        return String(decoding: text[index..<end], as: UTF8.self).unicodeScalars.first.map { ($0, end - index) }
    }

    private func scalar(before index: Int, in text: [UInt8]) -> (Unicode.Scalar, Int)? {
        var start = index - 1
        while start > 0, text[start] & 0xC0 == 0x80 { start -= 1 }
        return String(decoding: text[start..<index], as: UTF8.self).unicodeScalars.first.map { ($0, index - start) }
    }

    private func isWordBoundary(_ text: [UInt8], before index: Int) -> Bool {
        guard index > 0, let (scalar, _) = scalar(before: index, in: text) else { return true }
        return !isRegexWordCharacter(scalar)
    }

    private func isWordBoundary(_ text: [UInt8], after index: Int) -> Bool {
        guard index < text.count, let (scalar, _) = scalar(at: index, in: text) else { return true }
        return !isRegexWordCharacter(scalar)
    }
}

/// Rust `regex`'s (and UTS #18's) `\w`: Alphabetic, marks, decimal digits, connector punctuation, join controls
/// (in its Unicode 16.0 tables).
func isRegexWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
    if scalar.value < 0x80 {
        let byte = UInt8(scalar.value)
        return (byte >= 0x30 && byte <= 0x39) || (byte | 0x20 >= 0x61 && byte | 0x20 <= 0x7A) || byte == 0x5F
    }
    let properties = scalar.properties
    let word: Bool
    if properties.isAlphabetic || isMark(scalar) || properties.isJoinControl {
        word = true
    } else {
        switch properties.generalCategory {
        case .decimalNumber, .connectorPunctuation: word = true
        default: word = false
        }
    }
    return word && !HFUnicode.regex.contains(scalar)
}
