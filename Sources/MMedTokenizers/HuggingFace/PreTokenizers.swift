import Foundation

/// What happens to a split pattern's matches (tokenizer.json `behavior`).
enum SplitBehavior: String, Sendable {
    case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious",
         mergedWithNext = "MergedWithNext", contiguous = "Contiguous"
}

/// How Metaspace adds its replacement character in front of the text.
enum PrependScheme: String, Sendable { case always, first, never }

/// tokenizer.json pre-tokenizers. Pieces are UTF-8 bytes; ByteLevel leaves them as raw bytes (the byte-to-character
/// mapping is folded into the vocabulary at load time).
indirect enum PreTokenizer: Sendable {
    case split(TextPattern, SplitBehavior, invert: Bool)
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case metaspace(replacement: String, prependScheme: PrependScheme, split: Bool)
    case whitespace, whitespaceSplit, bert
    case punctuation(SplitBehavior)
    case digits(individual: Bool)
    case sequence([PreTokenizer])

    init(_ json: JSONObject) throws {
        let type = try json.string("type")
        switch type {
        case "Split":
            guard let behavior = SplitBehavior(rawValue: try json.string("behavior")) else { throw json.unsupported("the split behavior") }
            self = .split(try json.pattern("pattern"), behavior, invert: json.bool("invert", default: false))
        case "ByteLevel": self = .byteLevel(addPrefixSpace: json.bool("add_prefix_space", default: true), useRegex: json.bool("use_regex", default: true))
        case "Metaspace":
            let replacement = json.optionalString("replacement") ?? "\u{2581}"
            var scheme = PrependScheme.always
            if let name = json.optionalString("prepend_scheme") {
                guard let parsed = PrependScheme(rawValue: name) else { throw json.unsupported("prepend_scheme \(name)") }
                scheme = parsed
            } else if !json.bool("add_prefix_space", default: true) {
                scheme = .never
            }
            self = .metaspace(replacement: replacement, prependScheme: scheme, split: json.bool("split", default: true))
        case "Whitespace": self = .whitespace
        case "WhitespaceSplit": self = .whitespaceSplit
        case "BertPreTokenizer": self = .bert
        case "Punctuation":
            let behavior = json.optionalString("behavior").flatMap(SplitBehavior.init(rawValue:)) ?? .isolated
            self = .punctuation(behavior)
        case "Digits": self = .digits(individual: json.bool("individual_digits", default: false))
        case "Sequence": self = .sequence(try json.objects("pretokenizers").map(PreTokenizer.init))
        default: throw json.unsupported("the pre-tokenizer \"\(type)\"")
        }
    }

    /// Whether this pre-tokenizer maps bytes to the byte-level alphabet (the model's vocabulary is then byte-level).
    var isByteLevel: Bool {
        switch self {
        case .byteLevel: return true
        case .sequence(let items): return items.contains { $0.isByteLevel }
        default: return false
        }
    }

    /// The split pattern scanner alone, when this pre-tokenizer is exactly "split with a scanner, isolate the
    /// pieces" (optionally followed by a byte-level step that adds nothing): the fast path streams its pieces.
    var streamingScanner: SplitPattern? {
        switch self {
        case .split(.scanner(let scanner, _), .isolated, invert: false): return scanner
        case .byteLevel(addPrefixSpace: false, useRegex: true): return .gpt2
        case .sequence(let items):
            guard let first = items.first?.streamingScanner else { return nil }
            for item in items.dropFirst() {
                guard case .byteLevel(addPrefixSpace: false, useRegex: false) = item else { return nil }
            }
            return first
        default: return nil
        }
    }

    /// Splits each piece. Each piece carries `origin`: how many of its leading bytes HF aligns to the start of the
    /// input text (Metaspace's `first` scheme prepends only to a piece whose first byte is there).
    func apply(_ pieces: [PreToken]) -> [PreToken] {
        switch self {
        case .split(let pattern, let behavior, let invert):
            return pieces.flatMap { $0.split(pattern.matches(in: $0.bytes), behavior: behavior, invert: invert) }
        case .byteLevel(let addPrefixSpace, let useRegex):
            return pieces.flatMap { piece -> [PreToken] in
                var piece = piece
                if addPrefixSpace, piece.bytes.first != 0x20 { piece.prepend([0x20]) }
                guard useRegex else { return [piece] }
                var ranges: [Range<Int>] = []
                piece.bytes.withUnsafeBufferPointer { bytes in SplitPattern.gpt2.forEachPiece(bytes) { ranges.append($0..<$1) } }
                return ranges.map { piece.slice($0) }
            }
        case .metaspace(let replacement, let scheme, let split):
            let marker = Array(replacement.utf8)
            return pieces.flatMap { piece -> [PreToken] in
                var replaced = PreToken(bytes: [], origin: 0)
                replaced.bytes.reserveCapacity(piece.bytes.count + marker.count)
                for (index, byte) in piece.bytes.enumerated() {
                    if byte == 0x20 { replaced.bytes.append(contentsOf: marker) } else { replaced.bytes.append(byte) }
                    if index < piece.origin { replaced.origin = replaced.bytes.count }
                }
                let prepend = scheme == .always || (scheme == .first && piece.origin > 0)
                if prepend, !replaced.bytes.isEmpty, !replaced.bytes.starts(with: marker) { replaced.prepend(marker) }
                guard split else { return [replaced] }
                return replaced.split(TextPattern.literal(replacement).matches(in: replaced.bytes), behavior: .mergedWithNext, invert: false)
            }
        case .whitespace:
            return pieces.flatMap { $0.split(wordOrSymbolRuns($0.bytes), behavior: .removed, invert: true) }
        case .whitespaceSplit:
            return pieces.flatMap { $0.split(characterMatches($0.bytes) { $0.properties.isWhitespace }, behavior: .removed, invert: false) }
        case .bert:
            return pieces.flatMap { $0.split(characterMatches($0.bytes) { $0.properties.isWhitespace }, behavior: .removed, invert: false) }
                .flatMap { $0.split(characterMatches($0.bytes, isBertPunctuation), behavior: .isolated, invert: false) }
        case .punctuation(let behavior):
            return pieces.flatMap { $0.split(characterMatches($0.bytes, isBertPunctuation), behavior: behavior, invert: false) }
        case .digits(let individual):
            return pieces.flatMap { piece in
                // Rust's `char::is_numeric`: the categories Nd, Nl and No (not Unicode's Numeric_Type, which has 一).
                let digits = characterMatches(piece.bytes) {
                    switch $0.properties.generalCategory {
                    case .decimalNumber, .letterNumber, .otherNumber: return true
                    default: return false
                    }
                }
                return piece.split(digits, behavior: individual ? .isolated : .contiguous, invert: false)
            }
        case .sequence(let items):
            // After a ByteLevel step, HF's pieces are spelled in the byte-level alphabet (a space is `Ġ`): the steps
            // after it split that spelling. Ours are raw bytes, so those steps see the spelling and get bytes back.
            var pieces = pieces
            var spelled = false
            for (index, item) in items.enumerated() {
                pieces = item.apply(pieces)
                if !spelled, item.isByteLevel, index < items.count - 1 {
                    pieces = pieces.map { $0.spelledInByteLevelAlphabet() }
                    spelled = true
                }
            }
            return spelled ? pieces.map { $0.fromByteLevelSpelling() } : pieces
        }
    }
}

/// A pre-tokenized piece: its bytes, and how many of its leading bytes are aligned to the input's first character.
struct PreToken {
    var bytes: [UInt8]
    var origin: Int

    func slice(_ range: Range<Int>) -> PreToken {
        PreToken(bytes: Array(bytes[range]), origin: max(0, origin - range.lowerBound))
    }

    /// Inserted text shares the alignment of the first character.
    mutating func prepend(_ prefix: [UInt8]) {
        bytes.insert(contentsOf: prefix, at: 0)
        if origin > 0 { origin += prefix.count }
    }

    func split(_ matches: [Range<Int>], behavior: SplitBehavior, invert: Bool) -> [PreToken] {
        splitRanges(count: bytes.count, matches: matches, behavior: behavior, invert: invert).map { slice($0) }
    }

    func spelledInByteLevelAlphabet() -> PreToken {
        var spelled: [UInt8] = []
        spelled.reserveCapacity(bytes.count * 2)
        var origin = 0
        for (index, byte) in bytes.enumerated() {
            spelled.append(contentsOf: ByteLevelAlphabet.utf8OfCharacter[Int(byte)])
            if index < self.origin { origin = spelled.count }
        }
        return PreToken(bytes: spelled, origin: origin)
    }

    func fromByteLevelSpelling() -> PreToken {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let raw = ByteLevelAlphabet.bytes(of: text) else { return self }
        // Each character of the spelling is one byte.
        var origin = 0, offset = 0
        for scalar in text.unicodeScalars where offset < self.origin {
            origin += 1
            offset += scalar.utf8.count
        }
        return PreToken(bytes: raw, origin: origin)
    }
}

/// One match per character satisfying `predicate`.
func characterMatches(_ bytes: [UInt8], _ predicate: (Unicode.Scalar) -> Bool) -> [Range<Int>] {
    var ranges: [Range<Int>] = []
    var offset = 0
    for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
        let length = scalar.utf8.count
        if predicate(scalar) { ranges.append(offset..<(offset + length)) }
        offset += length
    }
    return ranges
}

/// The matches of `\w+|[^\w\s]+` (the Whitespace pre-tokenizer's pattern).
func wordOrSymbolRuns(_ bytes: [UInt8]) -> [Range<Int>] {
    enum Kind { case word, symbol, space }
    func kind(_ scalar: Unicode.Scalar) -> Kind {
        if scalar.properties.isWhitespace { return .space }
        if isRegexWordCharacter(scalar) { return .word }
        return .symbol
    }
    var ranges: [Range<Int>] = []
    var offset = 0
    var current: (Kind, Int)? = nil
    for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
        let k = kind(scalar)
        if let (runKind, start) = current, runKind != k {
            if runKind != .space { ranges.append(start..<offset) }
            current = nil
        }
        if current == nil { current = (k, offset) }
        offset += scalar.utf8.count
    }
    if let (runKind, start) = current, runKind != .space { ranges.append(start..<offset) }
    return ranges
}

/// The ranges HF tokenizers' `split` with a behavior keeps of a piece of `count` bytes around `matches` (empty ones
/// included: they split too).
func splitRanges(count: Int, matches: [Range<Int>], behavior: SplitBehavior, invert: Bool) -> [Range<Int>] {
    // The whole piece as alternating (range, isMatch) parts, gaps included (HF's `find_matches`).
    var parts: [(Range<Int>, Bool)] = []
    var last = 0
    for range in matches {
        if range.lowerBound > last { parts.append((last..<range.lowerBound, invert)) }
        parts.append((range, !invert))
        last = range.upperBound
    }
    if last < count || parts.isEmpty { parts.append((last..<count, invert)) }
    var merged: [(Range<Int>, Bool)] = []
    switch behavior {
    case .isolated: merged = parts
    case .removed: merged = parts.filter { !$0.1 }
    case .mergedWithPrevious:
        var previousMatch = false
        for (range, isMatch) in parts {
            if isMatch, !previousMatch, let end = merged.indices.last {
                merged[end].0 = merged[end].0.lowerBound..<range.upperBound
            } else {
                merged.append((range, isMatch))
            }
            previousMatch = isMatch
        }
    case .mergedWithNext:
        var previousMatch = false
        for (range, isMatch) in parts.reversed() {
            if isMatch, !previousMatch, let end = merged.indices.last {
                merged[end].0 = range.lowerBound..<merged[end].0.upperBound
            } else {
                merged.append((range, isMatch))
            }
            previousMatch = isMatch
        }
        merged.reverse()
    case .contiguous:
        // Runs of matches merge, and so do runs of non-matches (with `invert`, adjacent matches of the pattern).
        var previousMatch = false
        for (range, isMatch) in parts {
            if isMatch == previousMatch, let end = merged.indices.last {
                merged[end].0 = merged[end].0.lowerBound..<range.upperBound
            } else {
                merged.append((range, isMatch))
            }
            previousMatch = isMatch
        }
    }
    return merged.compactMap { $0.0.isEmpty ? nil : $0.0 }
}
