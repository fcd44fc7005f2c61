/// jieba's `finalseg`: the B/M/E/S hidden Markov model that splits runs of characters the dictionary does not know.
///
/// Every sum is formed in the order `finalseg.viterbi` forms it, and ties go where Python's `max` over
/// `(probability, state)` tuples sends them (to the later letter), so the paths are bit-for-bit jieba's.
struct JiebaHiddenMarkovModel: Sendable {
    /// State indices in jieba's iteration order 'BMES'.
    static let begin = 0, middle = 1, end = 2, single = 3
    static let stateLetters = ["B", "M", "E", "S"]
    /// `finalseg.MIN_FLOAT`, the score of an unseen emission or transition.
    static let minFloat = -3.14e100
    /// `finalseg.re_han`: the only characters the Viterbi sees. Emission keys outside it can never be looked up.
    static let hanRange: ClosedRange<UInt32> = 0x4E00...0x9FD5

    private var startScore: SIMD4<Double>
    /// `transitionScore[to][from]`, `MIN_FLOAT` where jieba's table has no entry.
    private var transitionScore: [SIMD4<Double>]
    /// `emissionScore[scalar - 0x4E00][state]`, `MIN_FLOAT` where jieba's table has no entry.
    private var emissionScore: [SIMD4<Double>]

    init(start: [UInt8], transition: [UInt8], emission: [UInt8], files: (start: String, transition: String, emission: String))
        throws(JiebaDataError)
    {
        do {
            let start = try Self.table(start, file: files.start) { parser in try Self.number(&parser) }
            let transition = try Self.table(transition, file: files.transition) { parser in
                try Self.stringKeyedDictionary(&parser) { parser in try Self.number(&parser) }
            }
            // finalseg reads start_p[y] and emit_p[y] for every state, so a missing one is an error here; a missing
            // transition falls back to MIN_FLOAT as `trans_p[y0].get(y, MIN_FLOAT)` does.
            startScore = SIMD4(repeating: 0)
            for (state, letter) in Self.stateLetters.enumerated() {
                guard let value = start.values[letter] else {
                    throw JiebaDataError(file: files.start, line: start.line, reason: "P has no state '\(letter)'")
                }
                startScore[state] = value
            }
            transitionScore = Array(repeating: SIMD4(repeating: Self.minFloat), count: 4)
            for (from, fromLetter) in Self.stateLetters.enumerated() {
                for (to, toLetter) in Self.stateLetters.enumerated() {
                    if let value = transition.values[fromLetter]?[toLetter] { transitionScore[to][from] = value }
                }
            }

            var emissionScore = Array(repeating: SIMD4(repeating: Self.minFloat), count: Self.hanRange.count)
            var parser = PythonLiteralParser(bytes: emission, source: files.emission)
            guard try parser.seekAssignment("P") else {
                throw JiebaDataError(file: files.emission, line: 1, reason: "no assignment 'P = {...}'")
            }
            var seen = Set<Int>()
            try Self.forEachEntry(&parser) { parser, letter in
                guard let state = Self.stateLetters.firstIndex(of: letter) else {
                    throw parser.error("unknown state \(letter.debugDescription)")
                }
                seen.insert(state)
                // A repeated state replaces the earlier table as a whole, as in a Python dict literal.
                for index in emissionScore.indices { emissionScore[index][state] = Self.minFloat }
                try Self.forEachEntry(&parser) { parser, key in
                    let value = try Self.number(&parser)
                    let scalars = key.unicodeScalars
                    // A key that is not one scalar of the han range never equals `obs[t]`: unreachable, so skipped.
                    if scalars.count == 1, let scalar = scalars.first?.value, Self.hanRange.contains(scalar) {
                        emissionScore[Int(scalar - Self.hanRange.lowerBound)][state] = value
                    }
                }
            }
            if let missing = Self.stateLetters.indices.first(where: { !seen.contains($0) }) {
                throw JiebaDataError(file: files.emission, line: parser.error("").line,
                                     reason: "P has no state '\(Self.stateLetters[missing])'")
            }
            self.emissionScore = emissionScore
        } catch let error as PythonLiteralError {
            throw JiebaDataError(file: error.source, line: error.line, reason: error.message)
        } catch let error as JiebaDataError {
            throw error
        } catch {
            throw JiebaDataError(file: files.emission, line: 0, reason: "\(error)")
        }
    }

    /// The words of `run`, characters all in 0x4E00...0x9FD5, as `finalseg.__cut` yields them: `word` gets each
    /// one's half-open index range within the run.
    func cut(_ run: UnsafeBufferPointer<UInt32>, scratch: inout ViterbiScratch, word: (Int, Int) -> Void) {
        let count = run.count
        guard count > 0 else { return }
        scratch.prepare(count)
        let lowest = Self.hanRange.lowerBound
        // V[0][y] = start_p[y] + emit_p[y].get(obs[0], MIN_FLOAT)
        var score = startScore + emissionScore[Int(run[0] - lowest)]
        let toBegin = transitionScore[Self.begin], toMiddle = transitionScore[Self.middle]
        let toEnd = transitionScore[Self.end], toSingle = transitionScore[Self.single]
        scratch.backPointers.withUnsafeMutableBufferPointer { back in
            // finalseg.PrevStatus: B ← E,S; M ← M,B; E ← B,M; S ← S,E. The candidates are `(prob, y0)` tuples, so on
            // a tie the alphabetically later letter wins: `later` below (B ← S, M ← M, E ← M, S ← S).
            @inline(__always)
            func best(_ earlier: Int, _ later: Int, into state: Int, _ incoming: SIMD4<Double>, _ emitted: Double, at t: Int)
                -> Double
            {
                // (V[t-1][y0] + trans_p[y0].get(y, MIN_FLOAT)) + em_p, left to right as Python adds.
                let earlierScore = score[earlier] + incoming[earlier] + emitted
                let laterScore = score[later] + incoming[later] + emitted
                if laterScore >= earlierScore {
                    back[t &* 4 &+ state] = UInt8(later)
                    return laterScore
                }
                back[t &* 4 &+ state] = UInt8(earlier)
                return earlierScore
            }
            for t in 1..<count {
                let emitted = emissionScore[Int(run[t] - lowest)]
                let next = SIMD4(
                    best(Self.end, Self.single, into: Self.begin, toBegin, emitted[Self.begin], at: t),
                    best(Self.begin, Self.middle, into: Self.middle, toMiddle, emitted[Self.middle], at: t),
                    best(Self.begin, Self.middle, into: Self.end, toEnd, emitted[Self.end], at: t),
                    best(Self.end, Self.single, into: Self.single, toSingle, emitted[Self.single], at: t))
                score = next
            }
        }
        // max((V[-1][y], y) for y in 'ES'): a tie goes to 'S'.
        var state = score[Self.single] >= score[Self.end] ? Self.single : Self.end
        for t in stride(from: count - 1, through: 0, by: -1) {
            scratch.path[t] = UInt8(state)
            if t > 0 { state = Int(scratch.backPointers[t * 4 + state]) }
        }
        // finalseg.__cut: B opens a word, E closes it, S is a word; leftovers after the last E/S form one more word.
        var begin = 0, nextIndex = 0
        for index in 0..<count {
            switch Int(scratch.path[index]) {
            case Self.begin:
                begin = index
            case Self.end:
                word(begin, index + 1)
                nextIndex = index + 1
            case Self.single:
                word(index, index + 1)
                nextIndex = index + 1
            default:
                break
            }
        }
        if nextIndex < count { word(nextIndex, count) }
    }

    /// Buffers reused across runs of one `segment` call.
    struct ViterbiScratch {
        var backPointers: [UInt8] = []
        var path: [UInt8] = []

        mutating func prepare(_ count: Int) {
            if backPointers.count < count * 4 {
                backPointers = Array(repeating: 0, count: count * 4)
                path = Array(repeating: 0, count: count)
            }
        }
    }

    // MARK: Reading the prob_*.py tables

    private struct Table<Value> {
        var values: [String: Value]
        /// The line of the assignment, for errors about a missing state.
        var line: Int
    }

    /// `P = {'key': value, ...}` of a small table module.
    private static func table<Value>(
        _ bytes: [UInt8], file: String, value: (inout PythonLiteralParser) throws -> Value
    ) throws -> Table<Value> {
        var parser = PythonLiteralParser(bytes: bytes, source: file)
        guard try parser.seekAssignment("P") else { throw JiebaDataError(file: file, line: 1, reason: "no assignment 'P = {...}'") }
        let line = parser.error("").line
        return Table(values: try stringKeyedDictionary(&parser, value: value), line: line)
    }

    private static func stringKeyedDictionary<Value>(
        _ parser: inout PythonLiteralParser, value: (inout PythonLiteralParser) throws -> Value
    ) throws -> [String: Value] {
        var result: [String: Value] = [:]
        try forEachEntry(&parser) { parser, key in result[key] = try value(&parser) }
        return result
    }

    /// Reads `{'key': value, ...}` (a trailing comma allowed), calling `body` at each value; a later repeated key
    /// overwrites, as in Python.
    private static func forEachEntry(
        _ parser: inout PythonLiteralParser, _ body: (inout PythonLiteralParser, String) throws -> Void
    ) throws {
        try parser.expect("{")
        if parser.consume("}") { return }
        repeat {
            if parser.consume("}") { return }
            let key = try parser.string()
            try parser.expect(":")
            try body(&parser, key)
        } while parser.consume(",")
        try parser.expect("}")
    }

    private static func number(_ parser: inout PythonLiteralParser) throws -> Double {
        guard let value = try parser.number().doubleValue else { throw parser.error("expected a number") }
        return value
    }
}
