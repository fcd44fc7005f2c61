/// The character classes the GPT-2 / cl100k / Llama 3 split patterns test: `\p{L}`, `\p{N}`, `\s`, and `[\r\n]`.
/// A lookup table covers the Basic Multilingual Plane; other planes ask the standard library.
enum CharacterClass: UInt8 {
    case other = 0
    case letter = 1
    case number = 2
    /// `\s` other than CR and LF (Unicode White_Space).
    case space = 3
    /// CR or LF.
    case newline = 4

    var isWhitespace: Bool { self == .space || self == .newline }
}

enum CharacterClasses {
    /// One byte per BMP code point.
    static let table: [CharacterClass] = {
        var table = [CharacterClass](repeating: .other, count: 0x10000)
        for value in 0..<0x10000 {
            guard let scalar = Unicode.Scalar(UInt32(value)) else { continue }
            table[value] = compute(scalar)
        }
        return table
    }()

    static func compute(_ scalar: Unicode.Scalar) -> CharacterClass {
        if scalar == "\r" || scalar == "\n" { return .newline }
        if scalar.properties.isWhitespace { return .space }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    @inline(__always)
    static func of(_ value: UInt32) -> CharacterClass {
        if value < 0x10000 { return table.withUnsafeBufferPointer { $0[Int(value)] } }
        return Unicode.Scalar(value).map(compute) ?? .other
    }
}

/// Reads one code point from valid UTF-8 at `index`; returns it and its length in bytes.
@inline(__always)
func decodeScalar(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int) -> (value: UInt32, length: Int) {
    let lead = bytes[index]
    if lead < 0x80 { return (UInt32(lead), 1) }
    if lead < 0xE0 { return (UInt32(lead & 0x1F) << 6 | UInt32(bytes[index + 1] & 0x3F), 2) }
    if lead < 0xF0 {
        return (UInt32(lead & 0x0F) << 12 | UInt32(bytes[index + 1] & 0x3F) << 6 | UInt32(bytes[index + 2] & 0x3F), 3)
    }
    return (UInt32(lead & 0x07) << 18 | UInt32(bytes[index + 1] & 0x3F) << 12 | UInt32(bytes[index + 2] & 0x3F) << 6
        | UInt32(bytes[index + 3] & 0x3F), 4)
}
