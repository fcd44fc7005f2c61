import Foundation

/// A problem in one of jieba's data files, with the file (relative to the jieba package) and 1-based line.
public struct JiebaDataError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int
    public var reason: String

    public init(file: String, line: Int, reason: String) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String {
        "jieba \(file), line \(line): \(reason) (reinstall jieba 0.42.1 with scripts/setup if the file was altered)"
    }
}

/// jieba's prefix dictionary `Tokenizer.FREQ`: every word of dict.txt and every prefix of one, as a trie over code
/// points. A node is a key of `FREQ`; it is a word for `get_DAG` and `__cut_DAG` only when its frequency is non-zero.
///
/// The children live in one open-addressing hash table keyed by (parent node, scalar), which is compact for the
/// ~500,000 nodes and needs one probe per step.
struct JiebaPrefixDictionary: Sendable {
    static let root: UInt32 = 0
    /// `slotKeys` entry of a free slot (no real key has all bits set: scalars take 21 bits).
    private static let freeSlot = UInt64.max

    /// `(parent << 21) | scalar` per slot, or `freeSlot`.
    private var slotKeys: [UInt64]
    private var slotChildren: [UInt32]
    /// 64 minus log2 of the slot count: the hash keeps the top bits of a multiplicative product.
    private var shift: UInt64
    /// Per node: `log(freq) - log(total)` for a word with a non-zero frequency, NaN for a mere prefix (or a word
    /// listed with frequency 0, which jieba treats the same way).
    private(set) var wordLogProbability: [Double]
    /// `log(total)`, the sum of every line's frequency.
    let logTotal: Double

    var nodeCount: Int { wordLogProbability.count }

    /// The child of `node` along `scalar`, if `FREQ` has that longer key.
    @inline(__always)
    func child(of node: UInt32, _ scalar: UInt32) -> UInt32? {
        let key = UInt64(node) << 21 | UInt64(scalar)
        var slot = Self.slot(of: key, shift: shift)
        let mask = slotKeys.count - 1
        while true {
            let found = slotKeys[slot]
            if found == key { return slotChildren[slot] }
            if found == Self.freeSlot { return nil }
            slot = (slot + 1) & mask
        }
    }

    /// Whether `scalars` is a key of `FREQ` with a non-zero frequency (`FREQ.get(word)` is truthy).
    func isWord(_ scalars: UnsafeBufferPointer<UInt32>) -> Bool {
        var node = Self.root
        for scalar in scalars {
            guard let next = child(of: node, scalar) else { return false }
            node = next
        }
        return !scalars.isEmpty && !wordLogProbability[Int(node)].isNaN
    }

    @inline(__always)
    private static func slot(of key: UInt64, shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// Reads dict.txt as `Tokenizer.gen_pfdict` does: lines split at `\n`, each stripped of ASCII whitespace and
    /// decoded as UTF-8, split at single spaces into word, frequency (Python `int`) and an ignored tag. A repeated
    /// word keeps its last frequency, while the total adds every line's.
    init(dictTxt bytes: [UInt8], file: String) throws(JiebaDataError) {
        var builder = Builder(expectedNodes: bytes.count / 8)
        var total = 0
        var lineNumber = 0
        var wordScalars: [UInt32] = []
        var failure: JiebaDataError?
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            let count = buffer.count
            var lineStart = 0
            while lineStart < count {
                lineNumber += 1
                var lineEnd = lineStart
                while lineEnd < count && base[lineEnd] != UInt8(ascii: "\n") { lineEnd += 1 }
                let nextLine = lineEnd + 1
                // bytes.strip(): space, \t, \n, \r, \v, \f.
                var start = lineStart, end = lineEnd
                while start < end && Self.isASCIIWhitespace(base[start]) { start += 1 }
                while end > start && Self.isASCIIWhitespace(base[end - 1]) { end -= 1 }
                lineStart = nextLine

                wordScalars.removeAll(keepingCapacity: true)
                var index = start
                var wordEnd = -1
                while index < end {
                    let length = utf8SequenceLength(base, index, end)
                    if length == 0 {
                        failure = JiebaDataError(file: file, line: lineNumber, reason: "invalid UTF-8 at byte \(index - start) of the line")
                        return
                    }
                    if wordEnd < 0 {
                        if base[index] == UInt8(ascii: " ") { wordEnd = index } else {
                            wordScalars.append(PythonText.decode(base, index, length))
                        }
                    }
                    index += length
                }
                guard wordEnd >= 0 else {
                    failure = JiebaDataError(file: file, line: lineNumber, reason: "expected \"word frequency [tag]\" separated by single spaces")
                    return
                }
                var frequencyEnd = wordEnd + 1
                while frequencyEnd < end && base[frequencyEnd] != UInt8(ascii: " ") { frequencyEnd += 1 }
                let field = UnsafeBufferPointer(start: base + wordEnd + 1, count: frequencyEnd - wordEnd - 1)
                guard let frequency = Self.pythonInt(field) else {
                    failure = JiebaDataError(file: file, line: lineNumber,
                                             reason: "frequency \(String(decoding: field, as: UTF8.self).debugDescription) is not an integer")
                    return
                }
                // Python would fail later, in log(), when a route reaches such a word; refuse it up front.
                guard frequency >= 0 else {
                    failure = JiebaDataError(file: file, line: lineNumber, reason: "negative frequency \(frequency)")
                    return
                }
                let (sum, overflow) = total.addingReportingOverflow(frequency)
                guard !overflow else {
                    failure = JiebaDataError(file: file, line: lineNumber, reason: "the total frequency overflows 64 bits")
                    return
                }
                total = sum
                builder.insert(wordScalars, frequency: frequency)
            }
        }
        if let failure { throw failure }
        // Python's log(0) raises; jieba cannot segment anything with such a dictionary.
        guard total > 0 else { throw JiebaDataError(file: file, line: lineNumber, reason: "the frequencies add up to 0") }

        // Python: log(FREQ.get(word) or 1) - log(self.total); the same two libm calls and one subtraction.
        let logTotal = log(Double(total))
        self.logTotal = logTotal
        wordLogProbability = builder.frequencies.map { $0 == 0 ? .nan : log(Double($0)) - logTotal }
        slotKeys = builder.slotKeys
        slotChildren = builder.slotChildren
        shift = builder.shift
    }

    @inline(__always)
    private static func isASCIIWhitespace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }

    /// Python's `int(str)` for ASCII text: surrounding whitespace, an optional sign, digits with single underscores
    /// between them. (Python also takes non-ASCII digits; jieba's dictionary has none, so they are refused.)
    private static func pythonInt(_ field: UnsafeBufferPointer<UInt8>) -> Int? {
        var start = 0, end = field.count
        while start < end && isASCIIWhitespace(field[start]) { start += 1 }
        while end > start && isASCIIWhitespace(field[end - 1]) { end -= 1 }
        var negative = false
        if start < end && (field[start] == UInt8(ascii: "+") || field[start] == UInt8(ascii: "-")) {
            negative = field[start] == UInt8(ascii: "-")
            start += 1
        }
        guard start < end else { return nil }
        var value = 0
        var previousWasDigit = false
        for index in start..<end {
            let byte = field[index]
            if byte == UInt8(ascii: "_") {
                guard previousWasDigit, index + 1 < end else { return nil }
                previousWasDigit = false
                continue
            }
            guard byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") else { return nil }
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = times10.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            guard !o1 && !o2 else { return nil }
            value = next
            previousWasDigit = true
        }
        guard previousWasDigit else { return nil }
        return negative ? -value : value
    }

    /// Grows the trie while dict.txt is read.
    private struct Builder {
        var slotKeys: [UInt64]
        var slotChildren: [UInt32]
        var shift: UInt64
        /// Per node, `FREQ[key]`: 0 for a prefix that is not (yet) a word.
        var frequencies: [Int] = [0]

        init(expectedNodes: Int) {
            var bits: UInt64 = 10
            while (1 << bits) < expectedNodes * 2 { bits += 1 }
            slotKeys = Array(repeating: JiebaPrefixDictionary.freeSlot, count: 1 << bits)
            slotChildren = Array(repeating: 0, count: 1 << bits)
            shift = 64 - bits
        }

        /// `lfreq[word] = freq`, and every prefix not yet a key gets frequency 0.
        mutating func insert(_ word: [UInt32], frequency: Int) {
            var node = JiebaPrefixDictionary.root
            for scalar in word { node = childCreating(node, scalar) }
            frequencies[Int(node)] = frequency
        }

        private mutating func childCreating(_ node: UInt32, _ scalar: UInt32) -> UInt32 {
            let key = UInt64(node) << 21 | UInt64(scalar)
            let mask = slotKeys.count - 1
            var slot = JiebaPrefixDictionary.slot(of: key, shift: shift)
            while true {
                let found = slotKeys[slot]
                if found == key { return slotChildren[slot] }
                if found == JiebaPrefixDictionary.freeSlot { break }
                slot = (slot + 1) & mask
            }
            let child = UInt32(frequencies.count)
            frequencies.append(0)
            slotKeys[slot] = key
            slotChildren[slot] = child
            if frequencies.count * 2 > slotKeys.count { grow() }
            return child
        }

        /// Doubles the table (keeps the load under one half).
        private mutating func grow() {
            let oldKeys = slotKeys, oldChildren = slotChildren
            shift -= 1
            let capacity = oldKeys.count * 2
            slotKeys = Array(repeating: JiebaPrefixDictionary.freeSlot, count: capacity)
            slotChildren = Array(repeating: 0, count: capacity)
            let mask = capacity - 1
            for (key, child) in zip(oldKeys, oldChildren) where key != JiebaPrefixDictionary.freeSlot {
                var slot = JiebaPrefixDictionary.slot(of: key, shift: shift)
                while slotKeys[slot] != JiebaPrefixDictionary.freeSlot { slot = (slot + 1) & mask }
                slotKeys[slot] = key
                slotChildren[slot] = child
            }
        }
    }
}
