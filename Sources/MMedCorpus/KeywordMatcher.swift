import MMedText

/// Counts keyword occurrences in lower-cased UTF-8 text, as the MMedLM filter does:
/// substring keywords by non-overlapping `str.count`, token keywords by whole-token equality over `str.split()`.
///
/// All keywords run through one Aho–Corasick automaton compiled to a dense DFA over byte classes, so the text is
/// read once whatever the number of keywords. Matching UTF-8 bytes equals matching code points because UTF-8 is
/// self-synchronising. A token keyword's match counts only when Python whitespace (or the text's edge) stands on
/// both sides, which is exactly when `lower.split()` holds a token equal to it; that check runs only on matches.
public final class KeywordMatcher: Sendable {
    /// The prepared keywords (lower-cased; duplicates possible in `published` mode).
    public let keywords: [String]
    /// Length of each keyword in code points (Python `len`).
    let codePointLengths: [Int]
    let byteLengths: [Int]
    /// Whether a keyword counts only as a whole token.
    let wholeToken: [Bool]
    /// The longest keyword in bytes.
    let maxKeywordBytes: Int

    // Automaton. The next row is the UInt32 at byte offset `row + classOffset[b]` of `transitions`: rows are byte
    // offsets of table rows, so a step is two loads and an add.
    let classOffset: [UInt32]
    let classCount: Int
    let transitions: [UInt32]
    /// Rows at or above this one report matches.
    let firstReportingRow: UInt32
    /// For reporting state `s` (row / classCount - firstReportingState): keyword ids in `reports[start..<end]`.
    let reportStart: [Int32]
    let reports: [Int32]
    let firstReportingState: Int

    /// - Parameters:
    ///   - keywords: prepared keywords (see `KeywordList.prepared(mode:)`).
    ///   - substring: for each keyword, whether it is counted as a substring (else as a whole token).
    public init(keywords: [String], substring: [Bool]) {
        precondition(keywords.count == substring.count)
        self.keywords = keywords
        codePointLengths = keywords.map { $0.unicodeScalars.count }
        byteLengths = keywords.map { $0.utf8.count }
        wholeToken = substring.map { !$0 }
        maxKeywordBytes = max(1, byteLengths.max() ?? 1)
        // A token keyword that contains whitespace can never equal a token of `split()`: it never matches.
        let matchable = keywords.indices.filter { substring[$0] || !$0.isMultiToken(keywords) }
        let automaton = Automaton.build(keywords: keywords, ids: matchable)
        classOffset = automaton.byteClass.map { UInt32($0) * 4 }
        classCount = automaton.classCount
        transitions = automaton.transitions.map { $0 * 4 }
        firstReportingRow = automaton.firstReportingRow * 4
        reportStart = automaton.reportStart
        reports = automaton.reports
        firstReportingState = automaton.firstReportingState
    }

    /// Builds the matcher for a language and mode: zh/ja in `paper` mode count every keyword as a substring;
    /// otherwise long keywords are substrings and short ones whole tokens.
    public convenience init(list: KeywordList, language: Language, mode: MatchMode) {
        let prepared = list.prepared(mode: mode)
        let allSubstrings = mode == .paper && language.isUnspaced
        self.init(keywords: prepared, substring: prepared.map { allSubstrings || isLongKeyword($0) })
    }
}

private extension Int {
    func isMultiToken(_ keywords: [String]) -> Bool {
        keywords[self].unicodeScalars.contains { PythonText.isWhitespace($0.value) }
    }
}

/// Per-thread scratch space and the scoring loop.
public final class KeywordScorer {
    public let matcher: KeywordMatcher
    private var counts: UnsafeMutablePointer<Int32>
    private var lastEnd: UnsafeMutablePointer<Int>
    private var touched: [Int32] = []
    private var lowered: UnsafeMutablePointer<UInt8>
    private var loweredCapacity: Int

    public struct Score: Sendable, Equatable {
        /// Number of distinct keywords found (MKC).
        public var uniqueKeywordCount: Int
        /// Σ count × len(keyword), in code points.
        public var keywordCharacters: Int
        /// Length of the original text in code points.
        public var length: Int

        public init(uniqueKeywordCount: Int, keywordCharacters: Int, length: Int) {
            self.uniqueKeywordCount = uniqueKeywordCount
            self.keywordCharacters = keywordCharacters
            self.length = length
        }

        /// DENS; 0 for an empty text.
        public var keywordDensity: Double {
            length == 0 ? 0 : Double(keywordCharacters) / Double(length)
        }
    }

    public enum Failure: Error, Sendable, Equatable {
        case invalidUTF8(offset: Int)
    }

    public init(matcher: KeywordMatcher) {
        self.matcher = matcher
        counts = .allocate(capacity: max(1, matcher.keywords.count))
        counts.initialize(repeating: 0, count: max(1, matcher.keywords.count))
        lastEnd = .allocate(capacity: max(1, matcher.keywords.count))
        lastEnd.initialize(repeating: 0, count: max(1, matcher.keywords.count))
        loweredCapacity = 1 << 16
        lowered = .allocate(capacity: loweredCapacity)
    }

    deinit {
        lowered.deallocate()
        counts.deallocate()
        lastEnd.deallocate()
    }

    /// Scores UTF-8 `text`.
    public func score(_ text: UnsafeRawBufferPointer) -> Result<Score, Failure> {
        let needed = text.count * 2 + 32
        if needed > loweredCapacity {
            lowered.deallocate()
            loweredCapacity = max(needed, loweredCapacity * 2)
            lowered = .allocate(capacity: loweredCapacity)
        }
        let lowerResult = PythonText.lowercase(text, into: lowered)
        if let offset = lowerResult.invalidUTF8Offset { return .failure(.invalidUTF8(offset: offset)) }
        scan(UnsafeBufferPointer(start: lowered, count: lowerResult.outputCount))

        var unique = 0
        var characters = 0
        for id in touched {
            let id = Int(id)
            unique += 1
            characters += Int(counts[id]) * matcher.codePointLengths[id]
            counts[id] = 0
            lastEnd[id] = 0
        }
        touched.removeAll(keepingCapacity: true)
        return .success(Score(uniqueKeywordCount: unique, keywordCharacters: characters, length: lowerResult.codePoints))
    }

    public func score(_ text: String) -> Result<Score, Failure> {
        var copy = text
        return copy.withUTF8 { score(UnsafeRawBufferPointer($0)) }
    }

    /// Matches found by streams 1...3, applied after stream 0's, stream by stream (they end further right).
    private var deferredMatches: [[(row: UInt32, end: Int)]] = [[], [], []]

    /// Runs the automaton over `text`. A long text is read as four interleaved streams over its quarters, so that
    /// four chains of dependent table loads overlap in the processor. Stream `s > 0` starts from the root
    /// `maxKeywordBytes` bytes before its quarter (enough to see every match that ends inside the quarter) and
    /// keeps only matches ending inside it; they are applied after stream 0's, in order, so that the
    /// left-to-right non-overlap rule sees matches sorted by their end.
    private func scan(_ text: UnsafeBufferPointer<UInt8>) {
        guard let base = text.baseAddress else { return }
        let m = matcher
        let count = text.count
        let overlap = m.maxKeywordBytes
        m.transitions.withUnsafeBufferPointer { transitionBuffer in
            m.classOffset.withUnsafeBufferPointer { classBuffer in
                let transitions = UnsafeRawPointer(transitionBuffer.baseAddress!)
                let classOffset = classBuffer.baseAddress!
                let firstReporting = m.firstReportingRow
                @inline(__always) func step(_ row: UInt32, _ index: Int) -> UInt32 {
                    transitions.load(fromByteOffset: Int(row &+ classOffset[Int(base[index])]), as: UInt32.self)
                }
                guard count >= 8 * overlap + 1024 else {
                    var row: UInt32 = 0
                    for index in 0..<count {
                        row = step(row, index)
                        if row >= firstReporting { reportMatches(row: row, end: index + 1, text: text) }
                    }
                    return
                }
                let b1 = count / 4, b2 = count / 2, b3 = count - count / 4
                var r0: UInt32 = 0, r1: UInt32 = 0, r2: UInt32 = 0, r3: UInt32 = 0
                var i1 = b1 - overlap, i2 = b2 - overlap, i3 = b3 - overlap
                // Warm-up: streams 1...3 read the bytes before their quarter without keeping matches.
                while i1 < b1 {
                    r1 = step(r1, i1); r2 = step(r2, i2); r3 = step(r3, i3)
                    i1 &+= 1; i2 &+= 1; i3 &+= 1
                }
                // Main loop over the first quarter's length: one shared counter and four base pointers keep the
                // live values few enough to stay in registers.
                let steps = b1   // the shortest quarter
                let p0 = base, p1 = base + i1, p2 = base + i2, p3 = base + i3
                var n = 0
                while n < steps {
                    // Call-free inner loop; matches are handled outside it.
                    repeat {
                        r0 = transitions.load(fromByteOffset: Int(r0 &+ classOffset[Int(p0[n])]), as: UInt32.self)
                        r1 = transitions.load(fromByteOffset: Int(r1 &+ classOffset[Int(p1[n])]), as: UInt32.self)
                        r2 = transitions.load(fromByteOffset: Int(r2 &+ classOffset[Int(p2[n])]), as: UInt32.self)
                        r3 = transitions.load(fromByteOffset: Int(r3 &+ classOffset[Int(p3[n])]), as: UInt32.self)
                        n &+= 1
                    } while n < steps && (r0 | r1 | r2 | r3) < firstReporting
                    if r0 >= firstReporting { reportMatches(row: r0, end: n, text: text) }
                    if r1 >= firstReporting { deferredMatches[0].append((r1, i1 + n)) }
                    if r2 >= firstReporting { deferredMatches[1].append((r2, i2 + n)) }
                    if r3 >= firstReporting { deferredMatches[2].append((r3, i3 + n)) }
                }
                i1 += steps; i2 += steps; i3 += steps
                // Tails of quarters longer than the first.
                while i1 < b2 { r1 = step(r1, i1); i1 &+= 1; if r1 >= firstReporting { deferredMatches[0].append((r1, i1)) } }
                while i2 < b3 { r2 = step(r2, i2); i2 &+= 1; if r2 >= firstReporting { deferredMatches[1].append((r2, i2)) } }
                while i3 < count { r3 = step(r3, i3); i3 &+= 1; if r3 >= firstReporting { deferredMatches[2].append((r3, i3)) } }
                for stream in 0..<3 {
                    for match in deferredMatches[stream] { reportMatches(row: match.row, end: match.end, text: text) }
                    deferredMatches[stream].removeAll(keepingCapacity: true)
                }
            }
        }
    }

    @inline(never)
    private func reportMatches(row: UInt32, end: Int, text: UnsafeBufferPointer<UInt8>) {
        let m = matcher
        let state = Int(row) / (m.classCount * 4) - m.firstReportingState
        let start = Int(m.reportStart[state])
        let stop = Int(m.reportStart[state + 1])
        for slot in start..<stop {
            let id = Int(m.reports[slot])
            let begin = end - m.byteLengths[id]
            if m.wholeToken[id] {
                guard isTokenBoundaryBefore(begin, text), isTokenBoundaryAt(end, text) else { continue }
            } else if begin < lastEnd[id] {
                // Non-overlapping occurrences of one keyword, left to right (Python `str.count`).
                continue
            }
            lastEnd[id] = end
            if counts[id] == 0 { touched.append(Int32(id)) }
            counts[id] += 1
        }
    }

    /// Whether the text starts at `index` or the character before it is Python whitespace.
    @inline(__always)
    private func isTokenBoundaryBefore(_ index: Int, _ text: UnsafeBufferPointer<UInt8>) -> Bool {
        if index == 0 { return true }
        let last = text[index - 1]
        if last < 0x80 { return PythonText.asciiWhitespace[Int(last)] }
        var lead = index - 1
        while lead > 0 && text[lead] & 0xC0 == 0x80 { lead -= 1 }
        return nonASCIIWhitespaceWidth(text, lead) == index - lead
    }

    /// Whether the text ends at `index` or the character at it is Python whitespace.
    @inline(__always)
    private func isTokenBoundaryAt(_ index: Int, _ text: UnsafeBufferPointer<UInt8>) -> Bool {
        if index == text.count { return true }
        let next = text[index]
        if next < 0x80 { return PythonText.asciiWhitespace[Int(next)] }
        return nonASCIIWhitespaceWidth(text, index) != 0
    }

    /// Width in bytes of a non-ASCII Python whitespace character at `index`, or 0.
    @inline(__always)
    private func nonASCIIWhitespaceWidth(_ text: UnsafeBufferPointer<UInt8>, _ index: Int) -> Int {
        let b0 = text[index]
        let count = text.count
        switch b0 {
        case 0xC2:
            guard index + 1 < count else { return 0 }
            let b1 = text[index + 1]
            return b1 == 0x85 || b1 == 0xA0 ? 2 : 0
        case 0xE1:
            guard index + 2 < count else { return 0 }
            return text[index + 1] == 0x9A && text[index + 2] == 0x80 ? 3 : 0
        case 0xE2:
            guard index + 2 < count else { return 0 }
            let b1 = text[index + 1], b2 = text[index + 2]
            if b1 == 0x80 && (b2 <= 0x8A || b2 == 0xA8 || b2 == 0xA9 || b2 == 0xAF) { return 3 }
            if b1 == 0x81 && b2 == 0x9F { return 3 }
            return 0
        case 0xE3:
            guard index + 2 < count else { return 0 }
            return text[index + 1] == 0x80 && text[index + 2] == 0x80 ? 3 : 0
        default:
            return 0
        }
    }
}

/// Aho–Corasick automaton compiled to a DFA.
struct Automaton {
    var byteClass: [UInt8]
    var classCount: Int
    var transitions: [UInt32]
    var firstReportingRow: UInt32
    var firstReportingState: Int
    var reportStart: [Int32]
    var reports: [Int32]

    static func build(keywords: [String], ids: [Int]) -> Automaton {
        // Byte classes: every byte used by a keyword gets its own class; all others share class 0.
        var byteClass = [UInt8](repeating: 0, count: 256)
        var classCount = 1
        for id in ids {
            for byte in keywords[id].utf8 where byteClass[Int(byte)] == 0 {
                byteClass[Int(byte)] = UInt8(classCount)
                classCount += 1
            }
        }
        precondition(classCount <= 256)

        // Trie.
        var children: [[Int32]] = [[Int32](repeating: -1, count: classCount)]
        var output: [[Int32]] = [[]]
        for id in ids {
            var state = 0
            for byte in keywords[id].utf8 {
                let c = Int(byteClass[Int(byte)])
                if children[state][c] < 0 {
                    children[state][c] = Int32(children.count)
                    children.append([Int32](repeating: -1, count: classCount))
                    output.append([])
                }
                state = Int(children[state][c])
            }
            output[state].append(Int32(id))
        }
        let stateCount = children.count

        // Breadth-first: failure links, inherited outputs, and the complete transition function.
        var fail = [Int](repeating: 0, count: stateCount)
        var delta = children
        var queue: [Int] = []
        for c in 0..<classCount {
            let child = children[0][c]
            if child >= 0 {
                fail[Int(child)] = 0
                queue.append(Int(child))
            } else {
                delta[0][c] = 0
            }
        }
        var head = 0
        while head < queue.count {
            let state = queue[head]
            head += 1
            output[state] += output[fail[state]].filter { !output[state].contains($0) }
            for c in 0..<classCount {
                let child = children[state][c]
                if child >= 0 {
                    fail[Int(child)] = Int(delta[fail[state]][c])
                    queue.append(Int(child))
                    delta[state][c] = child
                } else {
                    delta[state][c] = delta[fail[state]][c]
                }
            }
        }
        // Class 0 bytes (in no keyword) always lead back to the root.
        for state in 0..<stateCount { delta[state][0] = 0 }

        // Renumber: non-reporting states first (root stays 0), reporting states last.
        let order = (0..<stateCount).filter { output[$0].isEmpty } + (0..<stateCount).filter { !output[$0].isEmpty }
        var newIndex = [Int](repeating: 0, count: stateCount)
        for (new, old) in order.enumerated() { newIndex[old] = new }
        let firstReportingState = order.firstIndex { !output[$0].isEmpty } ?? stateCount
        var transitions = [UInt32](repeating: 0, count: stateCount * classCount)
        var reportStart: [Int32] = [0]
        var reports: [Int32] = []
        for (new, old) in order.enumerated() {
            for c in 0..<classCount {
                transitions[new * classCount + c] = UInt32(newIndex[Int(delta[old][c])] * classCount)
            }
            if new >= firstReportingState {
                reports += output[old]
                reportStart.append(Int32(reports.count))
            }
        }
        return Automaton(byteClass: byteClass, classCount: classCount, transitions: transitions,
                         firstReportingRow: UInt32(firstReportingState * classCount),
                         firstReportingState: firstReportingState, reportStart: reportStart, reports: reports)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
