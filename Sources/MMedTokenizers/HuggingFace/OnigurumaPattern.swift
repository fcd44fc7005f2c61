import Foundation

/// HF `tokenizers` compiles tokenizer.json regexes with Oniguruma (Ruby syntax); patterns none of our scanners
/// implements run on NSRegularExpression (ICU) here. ICU reads the same syntax with a few different meanings, which
/// `icuPattern` rewrites:
/// - `^`, `$` match at every `\n` in Oniguruma (ICU: only with `anchorsMatchLines`), and `.` excludes only `\n`
///   (ICU: every line terminator, unless `useUnixLineSeparators`), so both options are always on;
/// - `(?m)` is Oniguruma's dot-all, ICU's `(?s)`;
/// - `\w` (and so `\W`, `\b`, `\B`, `[:word:]`): Oniguruma's lacks U+200C, U+200D, and on its own (not in a
///   bracket class) also has ² ³ ¹ ¼ ½ ¾;
/// - `^` does not match at the very end after a final `\n`, `\Z` only before a final `\n`; `\p{^X}` is ICU's `\P{X}`; `[:xdigit:]` is ASCII;
/// - `\h`, `\H`: hexadecimal digits in Oniguruma, horizontal space in ICU;
/// - `[:punct:]`: punctuation and symbols in Oniguruma, punctuation only in ICU.
/// Empty matches follow Oniguruma's `find_iter`: one at the end of the previous match is skipped (`TextPattern`).
/// Constructs ICU does not know (`\K`, `\g<…>`, …) fail to compile: the file is then `.unsupported`.
enum OnigurumaPattern {
    /// Oniguruma's `\w` on its own, and inside a bracket class (where it lacks ² ³ ¹ ¼ ½ ¾, as `[:word:]` does).
    static let wordSet = #"[[\w\u00B2\u00B3\u00B9\u00BC-\u00BE]&&[^\u200C\u200D]]"#
    static let nonWordSet = #"[[^\w\u00B2\u00B3\u00B9\u00BC-\u00BE][\u200C\u200D]]"#
    static let classWordSet = #"[\w&&[^\u200C\u200D]]"#
    static let classNonWordSet = #"[[^\w][\u200C\u200D]]"#
    static let options: NSRegularExpression.Options = [.anchorsMatchLines, .useUnixLineSeparators]

    static func icuPattern(_ source: String) -> String {
        let characters = Array(source.unicodeScalars)
        var output = ""
        var index = 0
        var classDepth = 0
        func peek(_ offset: Int) -> Unicode.Scalar? { index + offset < characters.count ? characters[index + offset] : nil }
        while index < characters.count {
            let character = characters[index]
            if character == "\\", let next = peek(1) {
                index += 2
                switch next {
                case "w": output += classDepth > 0 ? classWordSet : wordSet
                case "W": output += classDepth > 0 ? classNonWordSet : nonWordSet
                case "p" where peek(0) == "{" && peek(1) == "^", "P" where peek(0) == "{" && peek(1) == "^":
                    // `\p{^L}` is `\P{L}` (ICU knows only the second spelling).
                    output += next == "p" ? "\\P{" : "\\p{"
                    index += 2
                case "Z" where classDepth == 0: output += #"(?=\n?\z)"#   // ICU's also stops before a final \v, \f, \r
                case "h": output += classDepth > 0 ? "0-9A-Fa-f" : "[0-9A-Fa-f]"
                case "H": output += "[^0-9A-Fa-f]"
                case "b" where classDepth == 0: output += "(?:(?<=\(wordSet))(?!\(wordSet))|(?<!\(wordSet))(?=\(wordSet)))"
                case "B" where classDepth == 0: output += "(?:(?<=\(wordSet))(?=\(wordSet))|(?<!\(wordSet))(?!\(wordSet)))"
                default:
                    output.unicodeScalars.append("\\")
                    output.unicodeScalars.append(next)
                }
                continue
            }
            if character == "[" {
                if classDepth == 0, peek(1) == ":" {
                    // Outside a class `[:alpha:]` is a class of its characters in Oniguruma, a POSIX class in ICU.
                    output += "[\\:"
                    classDepth += 1
                    index += 2
                    continue
                }
                if peek(1) == ":", let close = (index + 2..<characters.count).first(where: { characters[$0] == ":" && $0 + 1 < characters.count && characters[$0 + 1] == "]" }) {
                    let name = String(String.UnicodeScalarView(characters[(index + 2)..<close]))
                    switch name {
                    case "punct": output += #"\p{P}\p{S}"#
                    case "^punct": output += #"[^\p{P}\p{S}]"#
                    case "word": output += classWordSet
                    case "^word": output += classNonWordSet
                    case "xdigit": output += "0-9A-Fa-f"
                    case "^xdigit": output += "[^0-9A-Fa-f]"
                    default: output += "[:\(name):]"
                    }
                    index = close + 2
                    continue
                }
                classDepth += 1
                output.unicodeScalars.append(character)
                index += 1
                // A `]` right after `[` or `[^` is a literal in both dialects.
                if peek(0) == "^" { output.unicodeScalars.append("^"); index += 1 }
                if peek(0) == "]" { output += "\\]"; index += 1 }
                continue
            }
            if character == "^", classDepth == 0 {
                // Oniguruma's `^` does not match at the end of a text that ends in `\n` (ICU's does).
                output += #"(?:\A|(?<=\n)(?!\z))"#
                index += 1
                continue
            }
            if character == "]", classDepth > 0 {
                classDepth -= 1
            } else if character == "(", classDepth == 0, peek(1) == "?" {
                // Inline options `(?imx-imx)` / `(?imx-imx:`: Oniguruma's m is ICU's s.
                var end = index + 2
                while end < characters.count, "imx-".unicodeScalars.contains(characters[end]) { end += 1 }
                if end > index + 2, end < characters.count, characters[end] == ")" || characters[end] == ":" {
                    output += "(?"
                    for flag in characters[(index + 2)..<end] { output.unicodeScalars.append(flag == "m" ? "s" : flag) }
                    index = end
                    continue
                }
            }
            output.unicodeScalars.append(character)
            index += 1
        }
        return output
    }
}
