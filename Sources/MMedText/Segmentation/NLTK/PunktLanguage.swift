/// NLTK's `PunktLanguageVars` (English defaults) as scanners: the character sets of its patterns and the word
/// tokenizer of `_word_tokenize_fmt`, which Punkt uses to cut a candidate's context into words.
enum PunktLanguage {
    /// `sent_end_chars`: `.`, `?`, `!`.
    @inline(__always)
    static func isSentenceEndCharacter(_ c: UInt32) -> Bool {
        c == 0x2E || c == 0x3F || c == 0x21
    }

    /// `_re_non_word_chars`: ``)";}]*:@'({[`` , curly quotes, guillemets, `?` and `!`.
    @inline(__always)
    static func isNonWordCharacter(_ c: UInt32) -> Bool {
        switch c {
        case 0x29, 0x22, 0x3B, 0x7D, 0x5D, 0x2A, 0x3A, 0x40, 0x27, 0x28, 0x7B, 0x5B, 0x3F, 0x21: return true
        case 0x2018, 0x2019, 0x201C, 0x201D, 0xAB, 0xBB: return true
        default: return false
        }
    }

    /// Characters `_re_word_start` excludes from starting a word: ``("`{[:;&#*@)}]-,``.
    @inline(__always)
    static func cannotStartWord(_ c: UInt32) -> Bool {
        switch c {
        case 0x28, 0x22, 0x60, 0x7B, 0x5B, 0x3A, 0x3B, 0x26, 0x23, 0x2A, 0x40, 0x29, 0x7D, 0x5D, 0x2D, 0x2C: return true
        default: return false
        }
    }

    /// The closing characters of `re_boundary_realignment`: `"')]}`, curly quotes and guillemets.
    @inline(__always)
    static func isClosingPunctuation(_ c: UInt32) -> Bool {
        switch c {
        case 0x22, 0x27, 0x29, 0x5D, 0x7D, 0x2018, 0x2019, 0x201C, 0x201D, 0xAB, 0xBB: return true
        default: return false
        }
    }

    /// `PunktSentenceTokenizer.PUNCTUATION`: `;:,.!?`, which never start a sentence.
    @inline(__always)
    static func isPunctuation(_ c: UInt32) -> Bool {
        c == 0x3B || c == 0x3A || c == 0x2C || c == 0x2E || c == 0x21 || c == 0x3F
    }

    /// `_tokenize_words`: the lines of `range` (split at `\n` only) that are not blank by `str.strip()`.
    static func forEachLine(_ t: [UInt32], _ range: Range<Int>, _ body: (Range<Int>) -> Void) {
        var lineStart = range.lowerBound
        while lineStart <= range.upperBound {
            var lineEnd = lineStart
            while lineEnd < range.upperBound, t[lineEnd] != 0x0A { lineEnd += 1 }
            if t[lineStart..<lineEnd].contains(where: { !PythonText.isWhitespace($0) }) {
                body(lineStart..<lineEnd)
            }
            lineStart = lineEnd + 1
        }
    }

    /// `_re_multi_char_punct` at `p`: `\-{2,}`, `\.{2,}` or `(?:\.\s){2,}\.`; the end of the match.
    @inline(__always)
    static func multiCharacterPunctuationEnd(_ t: [UInt32], _ p: Int, _ end: Int) -> Int? {
        guard p < end else { return nil }
        let c = t[p]
        if c == 0x2D {
            var q = p + 1
            while q < end, t[q] == 0x2D { q += 1 }
            return q - p >= 2 ? q : nil
        }
        guard c == 0x2E else { return nil }
        var q = p + 1
        while q < end, t[q] == 0x2E { q += 1 }
        if q - p >= 2 { return q }
        // Spaced ellipsis: as many ". " as there are, then a "."; or one fewer, whose "." is then the last.
        var repetitions = 0
        q = p
        while q + 1 < end, t[q] == 0x2E, NLTKCharacterClass.isRegexSpace(t[q + 1]) {
            repetitions += 1
            q += 2
        }
        if repetitions >= 2, q < end, t[q] == 0x2E { return q + 1 }
        if repetitions >= 3 { return q - 1 }
        return nil
    }

    /// Whether a word that started before `j` ends at `j`: the lookahead after `\S+?` in `_word_tokenize_fmt`
    /// (whitespace, the end, a non-word character, multi-character punctuation, or a comma followed by one of those).
    @inline(__always)
    static func wordEnds(_ t: [UInt32], at j: Int, _ end: Int) -> Bool {
        if j == end { return true }
        let c = t[j]
        if NLTKCharacterClass.isRegexSpace(c) || isNonWordCharacter(c) { return true }
        if (c == 0x2D || c == 0x2E) && multiCharacterPunctuationEnd(t, j, end) != nil { return true }
        if c == 0x2C {
            let k = j + 1
            if k == end { return true }
            let d = t[k]
            if NLTKCharacterClass.isRegexSpace(d) || isNonWordCharacter(d) { return true }
            if (d == 0x2D || d == 0x2E) && multiCharacterPunctuationEnd(t, k, end) != nil { return true }
        }
        return false
    }

    /// `PunktLanguageVars.word_tokenize` of one line: `findall` of multi-character punctuation, a word (lazily up to
    /// where `wordEnds`), or any other single non-space character.
    static func forEachWord(_ t: [UInt32], _ line: Range<Int>, _ body: (Range<Int>) -> Void) {
        let end = line.upperBound
        var p = line.lowerBound
        while p < end {
            let c = t[p]
            if NLTKCharacterClass.isRegexSpace(c) {
                p += 1
                continue
            }
            if let e = multiCharacterPunctuationEnd(t, p, end) {
                body(p..<e)
                p = e
                continue
            }
            var j = p + 1
            if !cannotStartWord(c) {
                while !wordEnds(t, at: j, end) { j += 1 }
            }
            body(p..<j)
            p = j
        }
    }
}
