import MMedText

/// Counts keyword occurrences in lower-cased UTF-8 text, as the MMedLM filter does:
/// substring keywords by non-overlapping `str.count`, token keywords by whole-token equality over `str.split()`.
///
/// Substring keywords run through one Aho–Corasick automaton compiled to a dense DFA over byte classes, so the
/// text is read once whatever the number of keywords. Matching UTF-8 bytes equals matching code points
/// because UTF-8 is self-synchronising. Token keywords are looked up in an open-addressing hash table.
public final class KeywordMatcher: Sendable {
    /// The prepared keywords (lower-cased; duplicates possible in `published` mode).
    public let keywords: [String]
    /// Length of each keyword in code points (Python `len`).
    let codePointLengths: [Int]
    let byteLengths: [Int]
    let substringKeywordCount: Int
    let tokenKeywordCount: Int

    // Automaton. `transitions[row + byteClass[b]]` is the next row; rows are premultiplied by `classCount`.
    let byteClass: [UInt8]
    let classCount: Int
    let transitions: [UInt32]
    /// Rows at or above this one report matches.
    let firstReportingRow: UInt32
    /// For reporting state `s` (row / classCount - firstReportingState): keyword ids in `reports[start..<end]`.
    let reportStart: [Int32]
    let reports: [Int32]
    let firstReportingState: Int

    // Token table.
    let tokenTable: TokenTable

    /// - Parameters:
    ///   - keywords: prepared keywords (see `KeywordList.prepared(mode:)`).
    ///   - substring: for each keyword, whether it is counted as a substring (else as a whole token).
    public init(keywords: [String], substring: [Bool]) {
        precondition(keywords.count == substring.count)
        self.keywords = keywords
        codePointLengths = keywords.map { $0.unicodeScalars.count }
        byteLengths = keywords.map { $0.utf8.count }
        let substringIDs = keywords.indices.filter { substring[$0] }
        let tokenIDs = keywords.indices.filter { !substring[$0] }
        substringKeywordCount = substringIDs.count
        tokenKeywordCount = tokenIDs.count

        let automaton = Automaton.build(keywords: keywords, ids: substringIDs)
        byteClass = automaton.byteClass
        classCount = automaton.classCount
        transitions = automaton.transitions
        firstReportingRow = automaton.firstReportingRow
        reportStart = automaton.reportStart
        reports = automaton.reports
        firstReportingState = automaton.firstReportingState
        tokenTable = TokenTable(keywords: keywords, ids: tokenIDs)
    }

    /// Builds the matcher for a language and mode: zh/ja in `paper` mode count every keyword as a substring;
    /// otherwise long keywords are substrings and short ones whole tokens.
    public convenience init(list: KeywordList, language: Language, mode: MatchMode) {
        let prepared = list.prepared(mode: mode)
        let allSubstrings = mode == .paper && language.isUnspaced
        self.init(keywords: prepared, substring: prepared.map { allSubstrings || isLongKeyword($0) })
    }
}

/// Per-thread scratch space and the scoring loop.
public final class KeywordScorer {
    public let matcher: KeywordMatcher
    private var counts: [Int32]
    private var lastEnd: [Int]
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
        counts = Array(repeating: 0, count: matcher.keywords.count)
        lastEnd = Array(repeating: 0, count: matcher.keywords.count)
        loweredCapacity = 1 << 16
        lowered = .allocate(capacity: loweredCapacity)
    }

    deinit { lowered.deallocate() }

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
        let length = lowerResult.outputCount
        // Zero padding lets the token hash read 8 bytes past a token's end.
        for k in 0..<16 { lowered[length + k] = 0 }
        let buffer = UnsafeBufferPointer(start: lowered, count: length)

        if matcher.substringKeywordCount > 0 { scanSubstrings(buffer) }
        if matcher.tokenKeywordCount > 0 { scanTokens(buffer) }

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

    @inline(__always)
    private func count(_ id: Int) {
        if counts[id] == 0 { touched.append(Int32(id)) }
        counts[id] += 1
    }

    private func scanSubstrings(_ text: UnsafeBufferPointer<UInt8>) {
        let m = matcher
        m.transitions.withUnsafeBufferPointer { transitions in
            m.byteClass.withUnsafeBufferPointer { byteClass in
                var row: UInt32 = 0
                let firstReporting = m.firstReportingRow
                for index in 0..<text.count {
                    row = transitions[Int(row) &+ Int(byteClass[Int(text[index])])]
                    if row >= firstReporting {
                        reportMatches(row: row, end: index + 1)
                    }
                }
            }
        }
    }

    private func reportMatches(row: UInt32, end: Int) {
        let m = matcher
        let state = Int(row) / m.classCount - m.firstReportingState
        let start = Int(m.reportStart[state])
        let stop = Int(m.reportStart[state + 1])
        for slot in start..<stop {
            let id = Int(m.reports[slot])
            // Non-overlapping occurrences of one keyword, left to right (Python `str.count`).
            if end - m.byteLengths[id] >= lastEnd[id] {
                lastEnd[id] = end
                count(id)
            }
        }
    }

    private func scanTokens(_ text: UnsafeBufferPointer<UInt8>) {
        let table = matcher.tokenTable
        let whitespace = TokenTable.whitespaceClass
        let count = text.count
        var index = 0
        while index < count {
            // Skip whitespace.
            while index < count {
                let c = whitespace[Int(text[index])]
                if c == 0 { break }
                if c == 1 { index += 1; continue }
                let width = nonASCIIWhitespaceWidth(text, index)
                if width == 0 { break }
                index += width
            }
            if index >= count { break }
            let start = index
            // Take the token.
            while index < count {
                let c = whitespace[Int(text[index])]
                if c == 0 { index += 1; continue }
                if c == 1 { break }
                if nonASCIIWhitespaceWidth(text, index) != 0 { break }
                index += 1
            }
            let tokenLength = index - start
            if tokenLength <= table.maxLength {
                table.lookup(text.baseAddress! + start, tokenLength) { id in self.count(id) }
            }
        }
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

/// Whole-token keywords in an open-addressing table keyed by the token's bytes.
struct TokenTable: Sendable {
    /// 0: not whitespace; 1: ASCII whitespace; 2: lead byte of a possible non-ASCII whitespace character.
    static let whitespaceClass: [UInt8] = (0..<256).map { b in
        if b < 0x80 { return PythonText.asciiWhitespace[b] ? 1 : 0 }
        return b == 0xC2 || b == 0xE1 || b == 0xE2 || b == 0xE3 ? 2 : 0
    }

    struct Entry: Sendable {
        var hash: UInt64
        var bytesStart: Int32
        var length: Int32
        /// Keyword ids in `ids[idsStart..<idsStart + idsCount]` (several in `published` mode for case variants).
        var idsStart: Int32
        var idsCount: Int32
    }

    let slots: [Int32]          // index into entries, or -1
    let entries: [Entry]
    let keywordBytes: [UInt8]
    let ids: [Int32]
    let mask: Int
    let maxLength: Int

    init(keywords: [String], ids keywordIDs: [Int]) {
        var groups: [[UInt8]: [Int32]] = [:]
        var order: [[UInt8]] = []
        for id in keywordIDs {
            let bytes = Array(keywords[id].utf8)
            if groups[bytes] == nil { order.append(bytes) }
            groups[bytes, default: []].append(Int32(id))
        }
        var capacity = 16
        while capacity < order.count * 4 { capacity *= 2 }
        var slots = [Int32](repeating: -1, count: capacity)
        var entries: [Entry] = []
        var keywordBytes: [UInt8] = []
        var ids: [Int32] = []
        var maxLength = 0
        for bytes in order {
            let hash = bytes.withUnsafeBufferPointer { buffer -> UInt64 in
                var padded = Array(buffer) + [UInt8](repeating: 0, count: 16)
                return padded.withUnsafeMutableBufferPointer { TokenTable.hash($0.baseAddress!, bytes.count) }
            }
            let entry = Entry(hash: hash, bytesStart: Int32(keywordBytes.count), length: Int32(bytes.count),
                              idsStart: Int32(ids.count), idsCount: Int32(groups[bytes]!.count))
            keywordBytes += bytes
            ids += groups[bytes]!
            maxLength = max(maxLength, bytes.count)
            var slot = Int(truncatingIfNeeded: hash) & (capacity - 1)
            while slots[slot] != -1 { slot = (slot + 1) & (capacity - 1) }
            slots[slot] = Int32(entries.count)
            entries.append(entry)
        }
        self.slots = slots
        self.entries = entries
        self.keywordBytes = keywordBytes
        self.ids = ids
        self.mask = capacity - 1
        self.maxLength = maxLength
    }

    /// Hash of `length` bytes at `bytes`; reads up to 16 bytes past the end, which must be readable.
    @inline(__always)
    static func hash(_ bytes: UnsafePointer<UInt8>, _ length: Int) -> UInt64 {
        let raw = UnsafeRawPointer(bytes)
        var h = UInt64(truncatingIfNeeded: length) &* 0x9E37_79B9_7F4A_7C15
        var offset = 0
        while offset + 8 <= length {
            h = (h ^ raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
            offset += 8
        }
        let rest = length - offset
        if rest > 0 {
            let word = raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self) & (UInt64.max >> UInt64(64 - rest * 8))
            h = (h ^ word) &* 0x94D0_49BB_1331_11EB
            h ^= h >> 29
        }
        return h
    }

    @inline(__always)
    func lookup(_ bytes: UnsafePointer<UInt8>, _ length: Int, _ found: (Int) -> Void) {
        let hash = TokenTable.hash(bytes, length)
        var slot = Int(truncatingIfNeeded: hash) & mask
        while true {
            let entryIndex = slots[slot]
            if entryIndex < 0 { return }
            let entry = entries[Int(entryIndex)]
            if entry.hash == hash && Int(entry.length) == length {
                let equal = keywordBytes.withUnsafeBufferPointer { kb in
                    memcmp(kb.baseAddress! + Int(entry.bytesStart), bytes, length) == 0
                }
                if equal {
                    for k in 0..<Int(entry.idsCount) { found(Int(ids[Int(entry.idsStart) + k])) }
                    return
                }
            }
            slot = (slot + 1) & mask
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
