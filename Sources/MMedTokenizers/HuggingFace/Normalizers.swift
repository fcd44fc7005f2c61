import Foundation

/// tokenizer.json normalizers. They work on whole strings (normalization runs once per text segment, not per token).
indirect enum Normalizer: Sendable {
    case nfc, nfd, nfkc, nfkd, lowercase
    case strip(left: Bool, right: Bool)
    case stripAccents
    case replace(TextPattern, String)
    case prepend(String)
    case bert(cleanText: Bool, handleChineseCharacters: Bool, stripAccents: Bool, lowercase: Bool)
    case sequence([Normalizer])

    init(_ json: JSONObject) throws {
        let type = try json.string("type")
        switch type {
        case "NFC": self = .nfc
        case "NFD": self = .nfd
        case "NFKC": self = .nfkc
        case "NFKD": self = .nfkd
        case "Lowercase": self = .lowercase
        case "Strip": self = .strip(left: json.bool("strip_left", default: true), right: json.bool("strip_right", default: true))
        case "StripAccents": self = .stripAccents
        case "Replace": self = .replace(try json.pattern("pattern"), try json.string("content"))
        case "Prepend": self = .prepend(try json.string("prepend"))
        case "BertNormalizer":
            let lowercase = json.bool("lowercase", default: true)
            let stripAccents = json["strip_accents"]?.bool ?? lowercase
            self = .bert(cleanText: json.bool("clean_text", default: true),
                         handleChineseCharacters: json.bool("handle_chinese_chars", default: true),
                         stripAccents: stripAccents, lowercase: lowercase)
        case "Sequence": self = .sequence(try json.objects("normalizers").map(Normalizer.init))
        default: throw json.unsupported("the normalizer \"\(type)\"")
        }
    }

    func normalize(_ text: String) -> String {
        switch self {
        case .nfc, .nfd, .nfkc, .nfkd: return unicodeNormalize(text, self)
        case .lowercase: return text.lowercased()
        case .strip(let left, let right):
            var scalars = Substring(text).unicodeScalars[...]
            if left { while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() } }
            if right { while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() } }
            return String(String.UnicodeScalarView(scalars))
        case .stripAccents:
            return String(String.UnicodeScalarView(text.unicodeScalars.filter { !isHFCombiningMark($0) }))
        case .replace(let pattern, let content):
            let bytes = Array(text.utf8)
            let ranges = pattern.matches(in: bytes)
            if ranges.isEmpty { return text }
            var output: [UInt8] = []
            output.reserveCapacity(bytes.count)
            var last = 0
            let replacement = Array(content.utf8)
            for range in ranges {
                output.append(contentsOf: bytes[last..<range.lowerBound])
                output.append(contentsOf: replacement)
                last = range.upperBound
            }
            output.append(contentsOf: bytes[last...])
            return String(decoding: output, as: UTF8.self)
        case .prepend(let prefix): return text.isEmpty ? text : prefix + text
        case .bert(let cleanText, let handleChineseCharacters, let stripAccents, let lowercase):
            var scalars = String.UnicodeScalarView()
            for scalar in text.unicodeScalars {
                if cleanText {
                    if scalar.value == 0 || scalar.value == 0xFFFD || isBertControl(scalar) { continue }
                    if isBertWhitespace(scalar) { scalars.append(" "); continue }
                }
                if handleChineseCharacters, isChineseCharacter(scalar) {
                    scalars.append(" "); scalars.append(scalar); scalars.append(" ")
                    continue
                }
                scalars.append(scalar)
            }
            var result = String(scalars)
            if stripAccents {
                result = String(String.UnicodeScalarView(unicodeNormalize(result, .nfd).unicodeScalars.filter { !isBertNonspacingMark($0) }))
            }
            if lowercase { result = result.lowercased() }
            return result
        case .sequence(let normalizers):
            return normalizers.reduce(text) { $1.normalize($0) }
        }
    }
}

extension Normalizer {
    /// `normalize`, also following `origin`: how many leading bytes HF aligns to the input text's first character
    /// (0 when the text does not start there). Metaspace's `first` scheme needs it: a normalizer that removes the
    /// start of the text (Strip, StripAccents, Replace, BertNormalizer's clean-up) moves the pieces' alignment on.
    /// Inserted characters share the alignment of their neighbour, as in HF's `NormalizedString`.
    func normalize(_ text: String, origin: Int) -> (String, Int) {
        guard origin > 0 else { return (normalize(text), 0) }
        switch self {
        case .nfc, .nfd, .nfkc, .nfkd, .lowercase:
            let output = normalize(text)
            let prefix = String(decoding: text.utf8.prefix(origin), as: UTF8.self)
            return (output, scalarBoundary(atOrAfter: normalize(prefix).utf8.count, in: output))
        case .strip(let left, _):
            let output = normalize(text)
            var removed = 0
            if left { for scalar in text.unicodeScalars { guard scalar.properties.isWhitespace else { break }; removed += scalar.utf8.count } }
            return (output, min(output.utf8.count, max(0, origin - removed)))
        case .stripAccents:
            return perScalar(text, origin: origin) { isHFCombiningMark($0) ? .drop : .keep }
        case .replace(let pattern, let content):
            let bytes = Array(text.utf8)
            let replacement = Array(content.utf8)
            var output: [UInt8] = []
            var aligned = 0, contiguous = true, last = 0
            func keep(_ range: Range<Int>) {
                output.append(contentsOf: bytes[range])
                guard contiguous, !range.isEmpty else { return }
                aligned += max(0, min(range.upperBound, origin) - range.lowerBound)
                if range.upperBound > origin { contiguous = false }
            }
            for range in pattern.matches(in: bytes) {
                keep(last..<range.lowerBound)
                // The replacement takes the alignment of the last byte it replaces (of the byte before, if empty).
                output.append(contentsOf: replacement)
                if contiguous, range.upperBound == 0 || range.upperBound - 1 < origin { aligned += replacement.count } else { contiguous = false }
                last = range.upperBound
            }
            keep(last..<bytes.count)
            return (String(decoding: output, as: UTF8.self), aligned)
        case .prepend(let prefix):
            return text.isEmpty ? (text, origin) : (prefix + text, origin + prefix.utf8.count)
        case .bert(let cleanText, let handleChineseCharacters, let stripAccents, let lowercase):
            var (result, aligned) = perScalar(text, origin: origin) { scalar in
                if cleanText {
                    if scalar.value == 0 || scalar.value == 0xFFFD || isBertControl(scalar) { return .drop }
                    if isBertWhitespace(scalar) { return .replace(" ") }
                }
                if handleChineseCharacters, isChineseCharacter(scalar) { return .pad(scalar) }
                return .keep
            }
            if stripAccents {
                (result, aligned) = Normalizer.nfd.normalize(result, origin: aligned)
                (result, aligned) = perScalar(result, origin: aligned) { isBertNonspacingMark($0) ? .drop : .keep }
            }
            if lowercase { (result, aligned) = Normalizer.lowercase.normalize(result, origin: aligned) }
            return (result, aligned)
        case .sequence(let normalizers):
            return normalizers.reduce((text, origin)) { $1.normalize($0.0, origin: $0.1) }
        }
    }
}

/// What `perScalar` does with one scalar.
private enum ScalarMapping {
    case keep, drop, replace(Unicode.Scalar), pad(Unicode.Scalar)
}

/// Maps each scalar to scalars that share its alignment; counts the leading output bytes aligned like the first
/// `origin` input bytes.
private func perScalar(_ text: String, origin: Int, _ map: (Unicode.Scalar) -> ScalarMapping) -> (String, Int) {
    var output: [UInt8] = []
    output.reserveCapacity(text.utf8.count)
    var offset = 0, aligned = 0, contiguous = true
    for scalar in text.unicodeScalars {
        let before = output.count
        switch map(scalar) {
        case .keep: output.append(contentsOf: scalar.utf8)
        case .drop: break
        case .replace(let other): output.append(contentsOf: other.utf8)
        case .pad(let other):
            output.append(0x20)
            output.append(contentsOf: other.utf8)
            output.append(0x20)
        }
        if offset < origin, contiguous { aligned += output.count - before } else if output.count > before { contiguous = false }
        offset += scalar.utf8.count
    }
    return (String(decoding: output, as: UTF8.self), aligned)
}

/// The first scalar boundary of `text` at or after UTF-8 offset `offset` (at most the end).
private func scalarBoundary(atOrAfter offset: Int, in text: String) -> Int {
    var position = 0
    for scalar in text.unicodeScalars {
        if position >= offset { return position }
        position += scalar.utf8.count
    }
    return position
}

func isMark(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.properties.generalCategory {
    case .nonspacingMark, .spacingMark, .enclosingMark: return true
    default: return false
    }
}

/// StripAccents' `is_combining_mark` (a mark in HF's Unicode 9.0 tables).
func isHFCombiningMark(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x1CF2, 0x1CF3: return true    // marks (Mc) in Unicode 9.0, letters since
    case 0x111C9: return false          // punctuation in Unicode 9.0, a mark since
    default: return isMark(scalar) && !HFUnicode.normalization.contains(scalar)
    }
}

/// BertNormalizer's accent test: a non-spacing mark in HF's Unicode 8.0 category tables.
func isBertNonspacingMark(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x1734, 0x1171E: return true                       // Mn in Unicode 8.0, Mc since
    case 0x1885, 0x1886, 0xA9BD, 0x111C9: return false      // Lo, Lo, Mc, Po in Unicode 8.0, Mn since
    default: return scalar.properties.generalCategory == .nonspacingMark && !HFUnicode.categories.contains(scalar)
    }
}

/// NFC, NFD, NFKC or NFKD as HF's Unicode 9.0 tables have them: a character encoded later is left alone and, being
/// unknown there, stops reordering and composition around it, so the text is normalized piecewise between such
/// characters.
func unicodeNormalize(_ text: String, _ form: Normalizer) -> String {
    func normalized(_ text: String) -> String {
        switch form {
        case .nfc: return text.precomposedStringWithCanonicalMapping
        case .nfd: return text.decomposedStringWithCanonicalMapping
        case .nfkc: return text.precomposedStringWithCompatibilityMapping
        default: return text.decomposedStringWithCompatibilityMapping
        }
    }
    if text.utf8.allSatisfy({ $0 < 0x80 }) { return text }
    guard text.unicodeScalars.contains(where: { $0.value >= 0x80 && HFUnicode.normalization.contains($0) }) else {
        return normalized(text)
    }
    var output = ""
    var run = String.UnicodeScalarView()
    for scalar in text.unicodeScalars {
        if scalar.value >= 0x80, HFUnicode.normalization.contains(scalar) {
            output += normalized(String(run))
            output.unicodeScalars.append(scalar)
            run = String.UnicodeScalarView()
        } else {
            run.append(scalar)
        }
    }
    return output + normalized(String(run))
}

/// BERT's whitespace as HF tokenizers has it: Unicode White_Space (Rust's `char::is_whitespace`).
func isBertWhitespace(_ scalar: Unicode.Scalar) -> Bool { scalar.properties.isWhitespace }

/// BERT's control characters as HF tokenizers has them: Cc, Cf and Co (in its Unicode 8.0 tables), except tab,
/// newline and carriage return. Unassigned code points (Cn, e.g. U+FFFF) are kept: HF encodes them as [UNK].
func isBertControl(_ scalar: Unicode.Scalar) -> Bool {
    if scalar == "\t" || scalar == "\n" || scalar == "\r" { return false }
    switch scalar.properties.generalCategory {
    case .control: return true
    case .format, .privateUse: return !HFUnicode.categories.contains(scalar)
    default: return false
    }
}

/// BERT's punctuation: ASCII symbols and Unicode P* (in HF's Unicode 8.0 tables).
func isBertPunctuation(_ scalar: Unicode.Scalar) -> Bool {
    let value = scalar.value
    if (33...47).contains(value) || (58...64).contains(value) || (91...96).contains(value) || (123...126).contains(value) { return true }
    guard value >= 0x80 else { return false }
    if value == 0x166D || value == 0x111C9 { return true }   // Po in Unicode 8.0 (So and Mn since)
    switch scalar.properties.generalCategory {
    case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
         .finalPunctuation, .otherPunctuation: return !HFUnicode.categories.contains(scalar)
    default: return false
    }
}

/// The CJK ideograph blocks BERT pads with spaces, as HF has them (U+2B820–U+2B91F are not among them).
func isChineseCharacter(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F, 0x2B920...0x2CEAF,
         0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
    default: return false
    }
}
