// The character classes NLTK 3.10.4's tokenizers see. Two regular-expression engines are involved:
// - nltk.redos compiles almost every pattern with the third-party `regex` module (2026.5.9, Unicode 17, VERSION0):
//   `\w` = Alphabetic + marks + Nd + Pc + Join_Control, `\d` = Nd, `\s` = White_Space (not U+001C–U+001F);
// - destructive.py's CONTRACTIONS2/3 use the standard `re` of CPython 3.11 (Unicode 14): `\w` = str.isalnum() or `_`,
//   `\s` = str.isspace().
// Punkt also asks `str.isupper()` / `str.islower()` (Unicode 14) of a token's first character.
// The Swift runtime's Unicode data (Unicode 17 on Linux with Swift 6.3) gives the `regex` classes as they are; the
// Python 3.11 ones are cut to characters assigned by Unicode 14.0, plus the few whose case properties changed since.
// NLTKWordTokenizerTests compares every code point with the two Python libraries.

enum NLTKCharacterClass {
    /// `\s` of the `regex` module: the White_Space property.
    @inline(__always)
    static func isRegexSpace(_ c: UInt32) -> Bool {
        if c < 0x80 { return c == 0x20 || (c >= 0x09 && c <= 0x0D) }
        switch c {
        case 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: return true
        default: return false
        }
    }

    /// `\w` of the `regex` module (UTS #18 word characters).
    @inline(__always)
    static func isRegexWord(_ c: UInt32) -> Bool {
        if c < 0x80 { return isASCIIWord(c) }
        guard let scalar = Unicode.Scalar(c) else { return false }
        let properties = scalar.properties
        if properties.isAlphabetic || properties.isJoinControl { return true }
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
        default: return false
        }
    }

    /// `\d` of the `regex` module: general category Nd.
    @inline(__always)
    static func isRegexDigit(_ c: UInt32) -> Bool {
        if c < 0x80 { return c >= 0x30 && c <= 0x39 }
        return Unicode.Scalar(c)?.properties.generalCategory == .decimalNumber
    }

    /// `\w` of CPython 3.11's `re` on str: `_` or `str.isalnum()` (a letter, or any Numeric_Type), Unicode 14.
    static func isReWord(_ c: UInt32) -> Bool {
        if c < 0x80 { return isASCIIWord(c) }
        guard let scalar = Unicode.Scalar(c), assignedByUnicode14(scalar) else { return false }
        let properties = scalar.properties
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return properties.numericType != nil
        }
    }

    /// CPython 3.11's `str.isupper()` of one character (the Uppercase property, Unicode 14).
    static func isPythonUpper(_ c: UInt32) -> Bool {
        if c < 0x80 { return c >= 0x41 && c <= 0x5A }
        guard let scalar = Unicode.Scalar(c), assignedByUnicode14(scalar) else { return false }
        return scalar.properties.isUppercase
    }

    /// CPython 3.11's `str.islower()` of one character (the Lowercase property, Unicode 14).
    static func isPythonLower(_ c: UInt32) -> Bool {
        if c < 0x80 { return c >= 0x61 && c <= 0x7A }
        switch c {
        case 0x0295: return true  // Ll in Unicode 14, Lo since Unicode 16
        case 0x10FC, 0xA7F2...0xA7F4, 0xAB69: return false  // modifier letters made Other_Lowercase after 14.0
        default: break
        }
        guard let scalar = Unicode.Scalar(c), assignedByUnicode14(scalar) else { return false }
        return scalar.properties.isLowercase
    }

    /// Whether `c` matches the lower-case ASCII letter `lower` of a case-insensitive `regex` pattern (VERSION0,
    /// simple case folding): either case, `İ` for `i`, `ſ` for `s`. Right for the letters NLTK's patterns use, not
    /// for `k`.
    @inline(__always)
    static func regexLetter(_ c: UInt32, _ lower: UInt32) -> Bool {
        if c == lower || c == lower - 0x20 { return true }
        if lower == 0x69 { return c == 0x130 }
        if lower == 0x73 { return c == 0x17F }
        return false
    }

    /// Whether `c` matches the lower-case ASCII letter `lower` of a case-insensitive CPython `re` pattern: either
    /// case, `İ` and `ı` for `i`, `ſ` for `s`. Right for the letters NLTK's patterns use, not for `k`.
    @inline(__always)
    static func reLetter(_ c: UInt32, _ lower: UInt32) -> Bool {
        if c == lower || c == lower - 0x20 { return true }
        if lower == 0x69 { return c == 0x130 || c == 0x131 }
        if lower == 0x73 { return c == 0x17F }
        return false
    }

    @inline(__always)
    static func assignedByUnicode14(_ scalar: Unicode.Scalar) -> Bool {
        guard let age = scalar.properties.age else { return false }
        return age.major <= 14
    }

    /// ASCII `[A-Za-z0-9_]`, the same in both engines.
    @inline(__always)
    static func isASCIIWord(_ c: UInt32) -> Bool {
        let letter = c | 0x20
        return (letter >= 0x61 && letter <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x5F
    }
}
