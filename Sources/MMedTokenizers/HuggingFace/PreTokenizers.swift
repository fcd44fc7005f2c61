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

    /// Splits each piece. `isFirstSegment` tells Metaspace's `first` scheme whether this is the text's beginning.
    func apply(_ pieces: [[UInt8]], isFirstSegment: Bool) -> [[UInt8]] {
        switch self {
        case .split(let pattern, let behavior, let invert):
            return pieces.flatMap { splitPiece($0, matches: pattern.matches(in: $0), behavior: behavior, invert: invert) }
        case .byteLevel(let addPrefixSpace, let useRegex):
            return pieces.flatMap { piece -> [[UInt8]] in
                var piece = piece
                if addPrefixSpace, piece.first != 0x20 { piece.insert(0x20, at: 0) }
                guard useRegex else { return [piece] }
                var ranges: [Range<Int>] = []
                piece.withUnsafeBufferPointer { bytes in SplitPattern.gpt2.forEachPiece(bytes) { ranges.append($0..<$1) } }
                return ranges.map { Array(piece[$0]) }
            }
        case .metaspace(let replacement, let scheme, let split):
            let marker = Array(replacement.utf8)
            return pieces.enumerated().flatMap { index, piece -> [[UInt8]] in
                var replaced: [UInt8] = []
                replaced.reserveCapacity(piece.count + marker.count)
                for byte in piece { if byte == 0x20 { replaced.append(contentsOf: marker) } else { replaced.append(byte) } }
                let prepend = scheme == .always || (scheme == .first && isFirstSegment && index == 0)
                if prepend, !replaced.starts(with: marker) { replaced.insert(contentsOf: marker, at: 0) }
                guard split else { return [replaced] }
                return splitPiece(replaced, matches: TextPattern.literal(replacement).matches(in: replaced), behavior: .mergedWithNext, invert: false)
            }
        case .whitespace:
            return pieces.flatMap { piece in splitPiece(piece, matches: wordOrSymbolRuns(piece), behavior: .removed, invert: true) }
        case .whitespaceSplit:
            return pieces.flatMap { piece in
                splitPiece(piece, matches: characterMatches(piece) { $0.properties.isWhitespace }, behavior: .removed, invert: false)
            }
        case .bert:
            return pieces.flatMap { piece in
                splitPiece(piece, matches: characterMatches(piece) { $0.properties.isWhitespace }, behavior: .removed, invert: false)
            }.flatMap { piece in
                splitPiece(piece, matches: characterMatches(piece, isBertPunctuation), behavior: .isolated, invert: false)
            }
        case .punctuation(let behavior):
            return pieces.flatMap { piece in splitPiece(piece, matches: characterMatches(piece, isBertPunctuation), behavior: behavior, invert: false) }
        case .digits(let individual):
            return pieces.flatMap { piece in
                let digits = characterMatches(piece) { $0.properties.numericType != nil }
                return splitPiece(piece, matches: digits, behavior: individual ? .isolated : .contiguous, invert: false)
            }
        case .sequence(let items):
            return items.reduce(pieces) { $1.apply($0, isFirstSegment: isFirstSegment) }
        }
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
        if scalar.properties.isAlphabetic || isMark(scalar) || scalar.properties.generalCategory == .decimalNumber
            || scalar.properties.generalCategory == .connectorPunctuation || scalar.properties.isJoinControl { return .word }
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

/// Splits `piece` around `matches` the way HF tokenizers' `split` with a behavior does.
func splitPiece(_ piece: [UInt8], matches: [Range<Int>], behavior: SplitBehavior, invert: Bool) -> [[UInt8]] {
    // The whole piece as alternating (range, isMatch) parts, gaps included.
    var parts: [(Range<Int>, Bool)] = []
    var last = 0
    for range in matches {
        if range.lowerBound > last { parts.append((last..<range.lowerBound, invert)) }
        parts.append((range, !invert))
        last = range.upperBound
    }
    if last < piece.count { parts.append((last..<piece.count, invert)) }
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
        var previousMatch = false
        for (range, isMatch) in parts {
            if isMatch, previousMatch, let end = merged.indices.last {
                merged[end].0 = merged[end].0.lowerBound..<range.upperBound
            } else {
                merged.append((range, isMatch))
            }
            previousMatch = isMatch
        }
    }
    return merged.compactMap { $0.0.isEmpty ? nil : Array(piece[$0.0]) }
}
