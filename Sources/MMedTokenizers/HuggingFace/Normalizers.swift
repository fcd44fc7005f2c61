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
        case .nfc: return text.precomposedStringWithCanonicalMapping
        case .nfd: return text.decomposedStringWithCanonicalMapping
        case .nfkc: return text.precomposedStringWithCompatibilityMapping
        case .nfkd: return text.decomposedStringWithCompatibilityMapping
        case .lowercase: return text.lowercased()
        case .strip(let left, let right):
            var scalars = Substring(text).unicodeScalars[...]
            if left { while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() } }
            if right { while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() } }
            return String(String.UnicodeScalarView(scalars))
        case .stripAccents:
            return String(String.UnicodeScalarView(text.unicodeScalars.filter { !isMark($0) }))
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
                result = String(String.UnicodeScalarView(result.decomposedStringWithCanonicalMapping.unicodeScalars.filter {
                    $0.properties.generalCategory != .nonspacingMark
                }))
            }
            if lowercase { result = result.lowercased() }
            return result
        case .sequence(let normalizers):
            return normalizers.reduce(text) { $1.normalize($0) }
        }
    }
}

func isMark(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.properties.generalCategory {
    case .nonspacingMark, .spacingMark, .enclosingMark: return true
    default: return false
    }
}

/// BERT's whitespace as HF tokenizers has it: Unicode White_Space (Rust's `char::is_whitespace`).
func isBertWhitespace(_ scalar: Unicode.Scalar) -> Bool { scalar.properties.isWhitespace }

/// BERT's control characters as HF tokenizers has them: Cc, Cf and Co, except tab, newline and carriage return.
/// Unassigned code points (Cn, e.g. U+FFFF) are kept: HF encodes them as [UNK].
func isBertControl(_ scalar: Unicode.Scalar) -> Bool {
    if scalar == "\t" || scalar == "\n" || scalar == "\r" { return false }
    switch scalar.properties.generalCategory {
    case .control, .format, .privateUse: return true
    default: return false
    }
}

/// BERT's punctuation: ASCII symbols and Unicode P*.
func isBertPunctuation(_ scalar: Unicode.Scalar) -> Bool {
    let value = scalar.value
    if (33...47).contains(value) || (58...64).contains(value) || (91...96).contains(value) || (123...126).contains(value) { return true }
    switch scalar.properties.generalCategory {
    case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
         .finalPunctuation, .otherPunctuation: return true
    default: return false
    }
}

/// The CJK ideograph blocks BERT pads with spaces.
func isChineseCharacter(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F, 0x2B820...0x2CEAF,
         0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
    default: return false
    }
}
