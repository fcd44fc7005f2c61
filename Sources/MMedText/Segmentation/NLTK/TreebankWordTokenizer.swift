/// NLTK 3.10.4's improved Treebank word tokenizer, `NLTKWordTokenizer.tokenize(text)` of `destructive.py`
/// (convert_parentheses=False): the starting-quote, punctuation, bracket, double-dash, ending-quote and contraction
/// substitutions in NLTK's order, then `str.split()`. It expects one sentence; `NLTKWordTokenizer` splits first.
///
/// Each substitution is a scanner over Unicode scalars written from its pattern, with the pattern's engine's
/// character classes (the `regex` module for most, CPython's `re` for the contractions): see NLTKCharacterClass.
public struct TreebankWordTokenizer: Sendable {
    public init() {}

    /// The tokens of one sentence.
    public func tokenize(_ text: String) -> [String] {
        var tokens: [String] = []
        appendTokens(of: ScalarText.scalars(of: text)[...], to: &tokens)
        return tokens
    }

    /// Appends the tokens of one sentence given as scalars.
    func appendTokens(of sentence: ArraySlice<UInt32>, to tokens: inout [String]) {
        var text = Rewriter(sentence)
        text.startingQuotes()
        text.punctuation()
        text.padEach { c in c == 0x5D || c == 0x5B || c == 0x28 || c == 0x29 || c == 0x7B || c == 0x7D || c == 0x3C || c == 0x3E }
        text.doubleDashes()
        text.endingQuotes()
        text.contractions()
        text.split(into: &tokens)
    }
}

private let space: UInt32 = 0x20
private let quote: UInt32 = 0x27  // '
private let doubleQuote: UInt32 = 0x22  // "
private let backtick: UInt32 = 0x60  // `
private let period: UInt32 = 0x2E

/// The text between substitutions. Python's `re.sub` finds every match in its input, left to right and without
/// overlap, and replaces them; a pass here scans `text` the same way and, from its first replacement on, writes the
/// result to `output`, which then becomes the text. A pass that replaces nothing copies nothing.
private struct Rewriter {
    var text: [UInt32]
    var output: [UInt32] = []
    /// During a pass that has replaced something: `text[..<copied]` is already in `output`.
    var copied = 0
    var replacing = false
    /// ASCII characters present, and whether any non-ASCII one is, so that a pass whose pattern needs a character
    /// that is absent is skipped. Passes that bring in a character note it.
    var asciiPresent: (UInt64, UInt64) = (0, 0)
    var hasNonASCII = false

    init(_ sentence: ArraySlice<UInt32>) {
        text = Array(sentence)
        for c in text { note(c) }
    }

    @inline(__always)
    mutating func note(_ c: UInt32) {
        if c < 64 {
            asciiPresent.0 |= 1 << UInt64(c)
        } else if c < 128 {
            asciiPresent.1 |= 1 << UInt64(c - 64)
        } else {
            hasNonASCII = true
        }
    }

    @inline(__always)
    func has(_ c: UInt32) -> Bool {
        c < 64 ? asciiPresent.0 & (1 << UInt64(c)) != 0 : asciiPresent.1 & (1 << UInt64(c - 64)) != 0
    }

    @inline(__always)
    func at(_ i: Int) -> UInt32? { i >= 0 && i < text.count ? text[i] : nil }

    /// Copies the text up to `position` to the output (starting the output at a pass's first replacement).
    @inline(__always)
    mutating func copy(upTo position: Int) {
        if !replacing {
            replacing = true
            copied = 0
            output.removeAll(keepingCapacity: true)
            output.reserveCapacity(text.count + text.count / 4 + 8)
        }
        output.append(contentsOf: text[copied..<position])
        copied = position
    }

    /// Inserts a space before `text[position]`.
    @inline(__always)
    mutating func insertSpace(at position: Int) {
        copy(upTo: position)
        output.append(space)
    }

    /// `" \g<0> "`: spaces around `text[range]`.
    @inline(__always)
    mutating func pad(_ range: Range<Int>) {
        insertSpace(at: range.lowerBound)
        insertSpace(at: range.upperBound)
    }

    /// Replaces `text[range]`.
    mutating func replace(_ range: Range<Int>, with replacement: [UInt32]) {
        copy(upTo: range.lowerBound)
        output.append(contentsOf: replacement)
        copied = range.upperBound
    }

    /// Ends a pass.
    @inline(__always)
    mutating func finishPass() {
        guard replacing else { return }
        output.append(contentsOf: text[copied...])
        swap(&text, &output)
        replacing = false
        copied = 0
    }

    /// `re.sub(r"[...]", r" \g<0> ", text)` for a set of single characters.
    mutating func padEach(_ matches: (UInt32) -> Bool) {
        for i in text.indices where matches(text[i]) { pad(i..<(i + 1)) }
        finishPass()
    }

    /// `re.sub(r"c{2,}", r" \g<0> ", text)`: runs of at least two `c`.
    mutating func padRuns(of c: UInt32) {
        var i = 0
        while i < text.count {
            guard text[i] == c else {
                i += 1
                continue
            }
            var j = i + 1
            while j < text.count, text[j] == c { j += 1 }
            if j - i >= 2 { pad(i..<j) }
            i = j
        }
        finishPass()
    }

    /// `re.sub(r"ab", r" \g<0> ", text)` for two characters.
    mutating func padPairs(_ a: UInt32, _ b: UInt32) {
        var i = 0
        while i + 1 < text.count {
            if text[i] == a, text[i + 1] == b {
                pad(i..<(i + 2))
                i += 2
            } else {
                i += 1
            }
        }
        finishPass()
    }

    // MARK: - STARTING_QUOTES

    mutating func startingQuotes() {
        // ([«“‘„]|[`]+) → " \1 "
        if hasNonASCII || has(backtick) {
            var i = 0
            while i < text.count {
                let c = text[i]
                if c == 0xAB || c == 0x201C || c == 0x2018 || c == 0x201E {
                    pad(i..<(i + 1))
                    i += 1
                } else if c == backtick {
                    var j = i + 1
                    while j < text.count, text[j] == backtick { j += 1 }
                    pad(i..<j)
                    i = j
                } else {
                    i += 1
                }
            }
            finishPass()
        }
        // ^\" → ``
        if text.first == doubleQuote {
            text.replaceSubrange(0..<1, with: [backtick, backtick])
            note(backtick)
        }
        // (``) → " \1 "
        if has(backtick) { padPairs(backtick, backtick) }
        // ([ \(\[{<])(\"|\'{2}) → "\1 `` "
        if has(doubleQuote) || has(quote) {
            var i = 0
            while i < text.count {
                let c = text[i]
                if c == space || c == 0x28 || c == 0x5B || c == 0x7B || c == 0x3C {
                    var length = 0
                    if at(i + 1) == doubleQuote {
                        length = 1
                    } else if at(i + 1) == quote, at(i + 2) == quote {
                        length = 2
                    }
                    if length > 0 {
                        replace((i + 1)..<(i + 1 + length), with: [space, backtick, backtick, space])
                        note(backtick)
                        i += 1 + length
                        continue
                    }
                }
                i += 1
            }
            finishPass()
        }
        // (?i)(?<!\w)(\')(?!(?:re|ve|ll|m|t|s|d|n)\b)(?=\w) → "\1 "  (regex module)
        if has(quote) {
            for i in text.indices where text[i] == quote {
                if i > 0, NLTKCharacterClass.isRegexWord(text[i - 1]) { continue }
                guard i + 1 < text.count, NLTKCharacterClass.isRegexWord(text[i + 1]) else { continue }
                if startsClitic(i + 1) { continue }
                insertSpace(at: i + 1)
            }
            finishPass()
        }
    }

    /// `(?i)(?:re|ve|ll|m|t|s|d|n)\b` at `p`, with the `regex` module's case folding.
    func startsClitic(_ p: Int) -> Bool {
        func letter(_ i: Int, _ lower: UInt32) -> Bool {
            guard let c = at(i) else { return false }
            return NLTKCharacterClass.regexLetter(c, lower)
        }
        func boundary(_ i: Int) -> Bool {
            guard let c = at(i) else { return true }
            return !NLTKCharacterClass.isRegexWord(c)
        }
        if letter(p, 0x72) && letter(p + 1, 0x65) && boundary(p + 2) { return true }  // re
        if letter(p, 0x76) && letter(p + 1, 0x65) && boundary(p + 2) { return true }  // ve
        if letter(p, 0x6C) && letter(p + 1, 0x6C) && boundary(p + 2) { return true }  // ll
        for a: UInt32 in [0x6D, 0x74, 0x73, 0x64, 0x6E] where letter(p, a) && boundary(p + 1) { return true }  // m t s d n
        return false
    }

    // MARK: - PUNCTUATION

    mutating func punctuation() {
        if has(period) {
            finalPeriod(possessiveClosers: true)
        }
        if has(0x3A) || has(0x2C) {
            // ([:,])([^\d]) → " \1 \2"
            var i = 0
            while i + 1 < text.count {
                let c = text[i]
                if c == 0x3A || c == 0x2C, !NLTKCharacterClass.isRegexDigit(text[i + 1]) {
                    pad(i..<(i + 1))
                    i += 2
                } else {
                    i += 1
                }
            }
            finishPass()
            // ([:,])$ → " \1 "  ($: the end, or before a final newline)
            var last = text.count - 1
            if last >= 1, text[last] == 0x0A, text[last - 1] == 0x3A || text[last - 1] == 0x2C { last -= 1 }
            if last >= 0, text[last] == 0x3A || text[last] == 0x2C {
                text.replaceSubrange(last..<(last + 1), with: [space, text[last], space])
            }
        }
        // \.{2,} → " \g<0> "
        if has(period) { padRuns(of: period) }
        // [;@#$%&] → " \g<0> "
        if has(0x3B) || has(0x40) || has(0x23) || has(0x24) || has(0x25) || has(0x26) {
            padEach { c in c == 0x3B || c == 0x40 || c == 0x23 || c == 0x24 || c == 0x25 || c == 0x26 }
        }
        // [\u2012-\u2015] → " \g<0> "
        if hasNonASCII { padEach { c in c >= 0x2012 && c <= 0x2015 } }
        if has(period) {
            finalPeriod(possessiveClosers: false)
        }
        // [?!] → " \g<0> "
        if has(0x3F) || has(0x21) { padEach { c in c == 0x3F || c == 0x21 } }
        // ([^'])' → "\1 ' "
        if has(quote) {
            var i = 0
            while i + 2 < text.count {
                if text[i] != quote, text[i + 1] == quote, text[i + 2] == space {
                    insertSpace(at: i + 1)
                    i += 3
                } else {
                    i += 1
                }
            }
            finishPass()
        }
        // [*] → " \g<0> "
        if has(0x2A) { padEach { c in c == 0x2A } }
    }

    /// The two final-period rules:
    /// `([^\.])(\.)([\]\)}>"\'»”’ ]*+)\s*$` → `"\1 \2 \3 "` (possessive), and
    /// `([^\.])(\.)([\]\)}>"\']*)\s*$` → `"\1 \2\3 "`.
    /// A match must reach the end through closing characters then whitespace, so the only candidate period is the one
    /// just before the run of closing characters that precedes the trailing whitespace.
    mutating func finalPeriod(possessiveClosers: Bool) {
        func isCloser(_ c: UInt32) -> Bool {
            switch c {
            case 0x5D, 0x29, 0x7D, 0x3E, 0x22, 0x27: return true
            case 0xBB, 0x201D, 0x2019, 0x20: return possessiveClosers
            default: return false
            }
        }
        var whitespaceStart = text.count
        while whitespaceStart > 0, NLTKCharacterClass.isRegexSpace(text[whitespaceStart - 1]) { whitespaceStart -= 1 }
        var closersStart = whitespaceStart
        while closersStart > 0, isCloser(text[closersStart - 1]) { closersStart -= 1 }
        let p = closersStart - 1  // the period
        guard p >= 1, text[p] == period, text[p - 1] != period else { return }
        // The closing run as the pattern takes it: the possessive class also holds the space, so it may run on
        // into the trailing whitespace; the greedy one stops where the whitespace starts.
        var closersEnd = closersStart
        while closersEnd < text.count, isCloser(text[closersEnd]) { closersEnd += 1 }
        text.removeSubrange(closersEnd...)
        text.append(space)
        if possessiveClosers { text.insert(space, at: closersStart) }
        text.insert(space, at: p)
    }

    // MARK: - DOUBLE_DASHES, ENDING_QUOTES

    mutating func doubleDashes() {
        if has(0x2D) { padPairs(0x2D, 0x2D) }
    }

    mutating func endingQuotes() {
        // text = " " + text + " "
        text.insert(space, at: 0)
        text.append(space)
        // ([»”’]) → " \1 "
        if hasNonASCII { padEach { c in c == 0xBB || c == 0x201D || c == 0x2019 } }
        // '' → " '' "
        if has(quote) { padPairs(quote, quote) }
        // " → " '' "
        if has(doubleQuote) {
            for i in text.indices where text[i] == doubleQuote { replace(i..<(i + 1), with: [space, quote, quote, space]) }
            finishPass()
            note(quote)
        }
        // \s+ → " "
        var i = 0
        while i < text.count {
            guard NLTKCharacterClass.isRegexSpace(text[i]) else {
                i += 1
                continue
            }
            var j = i + 1
            while j < text.count, NLTKCharacterClass.isRegexSpace(text[j]) { j += 1 }
            if j - i > 1 || text[i] != space { replace(i..<j, with: [space]) }
            i = j
        }
        finishPass()
        guard has(quote) else { return }
        // ([^' ])('[sS]|'[mM]|'[dD]|') → "\1 \2 "
        i = 0
        while i + 2 < text.count {
            let c = text[i]
            if c != quote, c != space, text[i + 1] == quote {
                let d = text[i + 2]
                var length = 0
                if d == 0x73 || d == 0x53 || d == 0x6D || d == 0x4D || d == 0x64 || d == 0x44, at(i + 3) == space {
                    length = 2
                } else if d == space {
                    length = 1
                }
                if length > 0 {
                    insertSpace(at: i + 1)
                    i += 2 + length
                    continue
                }
            }
            i += 1
        }
        finishPass()
        // ([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) → "\1 \2 "
        i = 0
        while i + 4 < text.count {
            let c = text[i]
            if c != quote, c != space, text[i + 4] == space, Self.isClitic(text[i + 1], text[i + 2], text[i + 3]) {
                insertSpace(at: i + 1)
                i += 5
            } else {
                i += 1
            }
        }
        finishPass()
    }

    /// `'ll|'LL|'re|'RE|'ve|'VE|n't|N'T`
    static func isClitic(_ a: UInt32, _ b: UInt32, _ c: UInt32) -> Bool {
        if a == quote {
            return (b == 0x6C && c == 0x6C) || (b == 0x4C && c == 0x4C) || (b == 0x72 && c == 0x65)
                || (b == 0x52 && c == 0x45) || (b == 0x76 && c == 0x65) || (b == 0x56 && c == 0x45)
        }
        return (a == 0x6E && b == quote && c == 0x74) || (a == 0x4E && b == quote && c == 0x54)
    }

    // MARK: - CONTRACTIONS2, CONTRACTIONS3 (CPython `re`, case-insensitive)

    /// Whether `pattern` (lower-case letters and `'`) matches at `i`, case-insensitively.
    func matchesLetters(_ pattern: [UInt32], at i: Int) -> Bool {
        guard i + pattern.count <= text.count else { return false }
        for k in pattern.indices {
            let c = text[i + k], p = pattern[k]
            if p == quote ? c != quote : !NLTKCharacterClass.reLetter(c, p) { return false }
        }
        return true
    }

    /// CONTRACTIONS2: `(?i)\b(can)(?#X)(not)\b` ... `(?i)\b(wan)(?#X)(na)(?=\s)`, each → `" \1 \2 "`.
    static let contractions2: [(word: [UInt32], split: Int, beforeWhitespace: Bool)] = [
        ("cannot", 3, false), ("d'ye", 1, false), ("gimme", 3, false), ("gonna", 3, false),
        ("gotta", 3, false), ("lemme", 3, false), ("more'n", 4, false), ("wanna", 3, true),
    ].map { (Array($0.0.unicodeScalars.map(\.value)), $0.1, $0.2) }

    /// CONTRACTIONS3: `(?i) ('t)(?#X)(is)\b`, `(?i) ('t)(?#X)(was)\b`, each → `" \1 \2 "`; the words after the space.
    static let contractions3: [[UInt32]] = ["'tis", "'twas"].map { Array($0.unicodeScalars.map(\.value)) }

    mutating func contractions() {
        for (word, split, beforeWhitespace) in Self.contractions2 {
            // The first letters have no case-insensitive match outside ASCII.
            let first = word[0], firstUpper = word[0] - 0x20
            guard has(first) || has(firstUpper) else { continue }
            var i = 0
            while i + word.count <= text.count {
                if text[i] == first || text[i] == firstUpper, matchesLetters(word, at: i),
                    i == 0 || !NLTKCharacterClass.isReWord(text[i - 1])
                {
                    let end = i + word.count
                    let ends = beforeWhitespace
                        ? end < text.count && PythonText.isWhitespace(text[end])
                        : end == text.count || !NLTKCharacterClass.isReWord(text[end])
                    if ends {
                        insertSpace(at: i)
                        insertSpace(at: i + split)
                        insertSpace(at: end)
                        i = end
                        continue
                    }
                }
                i += 1
            }
            finishPass()
        }
        guard has(quote) else { return }
        for word in Self.contractions3 {
            var i = 0
            while i + 1 + word.count <= text.count {
                if text[i] == space, text[i + 1] == quote, matchesLetters(word, at: i + 1) {
                    let end = i + 1 + word.count
                    if end == text.count || !NLTKCharacterClass.isReWord(text[end]) {
                        insertSpace(at: i + 3)
                        insertSpace(at: end)
                        i = end
                        continue
                    }
                }
                i += 1
            }
            finishPass()
        }
    }

    // MARK: - str.split()

    func split(into tokens: inout [String]) {
        var start = -1
        for i in text.indices {
            if PythonText.isWhitespace(text[i]) {
                if start >= 0 {
                    tokens.append(ScalarText.string(text[start..<i]))
                    start = -1
                }
            } else if start < 0 {
                start = i
            }
        }
        if start >= 0 { tokens.append(ScalarText.string(text[start...])) }
    }
}
