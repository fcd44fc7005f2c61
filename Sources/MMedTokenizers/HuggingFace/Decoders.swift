import Foundation

/// tokenizer.json decoders: they turn the list of token strings into text, step by step.
indirect enum Decoder: Sendable {
    case byteLevel
    case metaspace(replacement: String, addPrefixSpace: Bool)
    case byteFallback
    case fuse
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    case replace(TextPattern, String)
    case wordPiece(prefix: String, cleanup: Bool)
    case sequence([Decoder])

    init(_ json: JSONObject) throws {
        let type = try json.string("type")
        switch type {
        case "ByteLevel": self = .byteLevel
        case "Metaspace":
            let replacement = json.optionalString("replacement") ?? "\u{2581}"
            var addPrefixSpace = json.bool("add_prefix_space", default: true)
            if let scheme = json.optionalString("prepend_scheme") { addPrefixSpace = scheme != "never" }
            self = .metaspace(replacement: replacement, addPrefixSpace: addPrefixSpace)
        case "ByteFallback": self = .byteFallback
        case "Fuse": self = .fuse
        case "Strip":
            let content = try json.string("content")
            guard content.unicodeScalars.count == 1 else { throw json.error("content: expected one character") }
            self = .strip(content: content.unicodeScalars.first!, start: json.optionalInt("start") ?? 0, stop: json.optionalInt("stop") ?? 0)
        case "Replace": self = .replace(try json.pattern("pattern"), try json.string("content"))
        case "WordPiece": self = .wordPiece(prefix: json.optionalString("prefix") ?? "##", cleanup: json.bool("cleanup", default: true))
        case "Sequence": self = .sequence(try json.objects("decoders").map(Decoder.init))
        default: throw json.unsupported("the decoder \"\(type)\"")
        }
    }

    /// One step: token strings in, token strings out (HF's `decode_chain`).
    func decodeChain(_ tokens: [String]) -> [String] {
        switch self {
        case .byteLevel:
            // A token spelled wholly in the byte-level alphabet is its bytes; any other token (an added token with a
            // space, say) is its own UTF-8, whole, as HF does.
            var bytes: [UInt8] = []
            for token in tokens {
                if let raw = ByteLevelAlphabet.bytes(of: token) { bytes.append(contentsOf: raw) }
                else { bytes.append(contentsOf: token.utf8) }
            }
            return [String(decoding: bytes, as: UTF8.self)]
        case .metaspace(let replacement, let addPrefixSpace):
            // Every replacement character becomes a space, except in the first token, where (unless the scheme is
            // `never`) every one of them is dropped, not only a leading one.
            return tokens.enumerated().map { index, token in
                token.replacingBytes(of: replacement, with: addPrefixSpace && index == 0 ? "" : " ")
            }
        case .byteFallback:
            var output: [String] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if let text = String(validating: pending, as: UTF8.self) { output.append(text) }
                else { output.append(contentsOf: Array(repeating: "\u{FFFD}", count: pending.count)) }
                pending.removeAll()
            }
            for token in tokens {
                if let byte = byteFallbackValue(token) { pending.append(byte) } else { flush(); output.append(token) }
            }
            flush()
            return output
        case .fuse: return [tokens.joined()]
        case .strip(let content, let start, let stop):
            return tokens.map { token in
                var scalars = Substring(token).unicodeScalars[...]
                var removed = 0
                while removed < start, scalars.first == content { scalars.removeFirst(); removed += 1 }
                removed = 0
                while removed < stop, scalars.last == content { scalars.removeLast(); removed += 1 }
                return String(String.UnicodeScalarView(scalars))
            }
        case .replace(let pattern, let content):
            let normalizer = Normalizer.replace(pattern, content)
            return tokens.map { normalizer.normalize($0) }
        case .wordPiece(let prefix, let cleanup):
            return tokens.enumerated().map { index, token in
                var text = token
                if index != 0 {
                    // Byte-wise: "##" followed by a combining mark is not a Character prefix, but HF strips it.
                    if text.utf8.starts(with: prefix.utf8) { text = String(decoding: text.utf8.dropFirst(prefix.utf8.count), as: UTF8.self) }
                    else { text = " " + text }
                }
                return cleanup ? cleanUpTokenization(text) : text
            }
        case .sequence(let decoders):
            return decoders.reduce(tokens) { $1.decodeChain($0) }
        }
    }
}

/// `<0xAB>` → 0xAB.
func byteFallbackValue(_ token: String) -> UInt8? {
    let utf8 = Array(token.utf8)
    guard utf8.count == 6, utf8[0] == UInt8(ascii: "<"), utf8[1] == UInt8(ascii: "0"), utf8[2] == UInt8(ascii: "x"),
          utf8[5] == UInt8(ascii: ">") else { return nil }
    return UInt8(String(decoding: utf8[3..<5], as: UTF8.self), radix: 16)
}

/// HF's `cleanup` of WordPiece output: spaces before punctuation and English contractions removed.
func cleanUpTokenization(_ text: String) -> String {
    var text = text
    for (from, to) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
                       (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
        text = text.replacingBytes(of: from, with: to)
    }
    return text
}

extension String {
    /// Replaces every occurrence of `target`, compared byte for byte (Foundation's `replacingOccurrences` compares
    /// canonically equivalent text as equal, HF does not).
    func replacingBytes(of target: String, with replacement: String) -> String {
        let bytes = Array(utf8)
        let ranges = TextPattern.literal(target).matches(in: bytes)
        guard !ranges.isEmpty else { return self }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var last = 0
        for range in ranges {
            output.append(contentsOf: bytes[last..<range.lowerBound])
            output.append(contentsOf: replacement.utf8)
            last = range.upperBound
        }
        output.append(contentsOf: bytes[last...])
        return String(decoding: output, as: UTF8.self)
    }
}
