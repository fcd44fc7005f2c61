/// One symbol of a word being merged: its token id and its byte range in the word.
struct MergeSymbol {
    var id: UInt32
    var start: Int32
    var end: Int32
}

/// How two adjacent symbols merge: the merge's rank (lower merges first) and the resulting id, or nil.
protocol MergeRule {
    func merge(_ left: MergeSymbol, _ right: MergeSymbol, _ word: UnsafeBufferPointer<UInt8>) -> (rank: UInt32, merged: UInt32)?
}

/// tiktoken's rule: two symbols merge when their concatenated bytes are a token; the token's rank is its id.
struct MergeByConcatenation: MergeRule {
    let table: TokenTable
    @inline(__always)
    func merge(_ left: MergeSymbol, _ right: MergeSymbol, _ word: UnsafeBufferPointer<UInt8>) -> (rank: UInt32, merged: UInt32)? {
        let bytes = UnsafeBufferPointer(rebasing: word[Int(left.start)..<Int(right.end)])
        guard let id = table.lookup(bytes) else { return nil }
        return (UInt32(id), UInt32(id))
    }
}

/// The rule of BPE models that list their merges (tokenizer.json): the pair of ids must be listed.
struct MergeByPairList: MergeRule {
    let pairs: PairTable
    @inline(__always)
    func merge(_ left: MergeSymbol, _ right: MergeSymbol, _ word: UnsafeBufferPointer<UInt8>) -> (rank: UInt32, merged: UInt32)? {
        pairs.lookup(left: left.id, right: right.id)
    }
}

/// Applies BPE merges to a word, lowest rank first and leftmost among equal ranks (as tiktoken and HF tokenizers
/// both do). Short words use a scan of the pair ranks, long ones a heap over a linked list, so a word of n
/// symbols costs O(n log n) however long it is. The buffers are reused across words.
struct BytePairMerger {
    private var symbols: [MergeSymbol] = []
    private var ranks: [UInt32] = []
    private var previous: [Int32] = []
    private var next: [Int32] = []
    private var heap: [UInt64] = []

    /// Words with more symbols than this use the heap.
    static let heapThreshold = 40

    init() {
        symbols.reserveCapacity(64)
        ranks.reserveCapacity(64)
    }

    /// Merges the word whose initial symbols are the word's bytes, each byte's id from `byteIDs`, and appends the
    /// resulting ids to `output`.
    mutating func mergeBytes<R: MergeRule>(_ word: UnsafeBufferPointer<UInt8>, byteIDs: UnsafeBufferPointer<UInt32>,
                                           rule: R, into output: inout [Int32]) {
        symbols.removeAll(keepingCapacity: true)
        for index in 0..<word.count {
            symbols.append(MergeSymbol(id: byteIDs[Int(word[index])], start: Int32(index), end: Int32(index + 1)))
        }
        mergeSymbols(word, rule: rule, into: &output)
    }

    /// Sets the initial symbols (for models whose initial symbols are characters), then call `mergeSymbols`.
    mutating func setSymbols(_ initial: [MergeSymbol]) {
        symbols.removeAll(keepingCapacity: true)
        symbols.append(contentsOf: initial)
    }

    mutating func appendSymbol(_ symbol: MergeSymbol) { symbols.append(symbol) }
    mutating func resetSymbols() { symbols.removeAll(keepingCapacity: true) }
    mutating func extendLastSymbol(to end: Int32) { symbols[symbols.count - 1].end = end }

    /// Merges the symbols set before and appends the result's ids to `output`.
    mutating func mergeSymbols<R: MergeRule>(_ word: UnsafeBufferPointer<UInt8>, rule: R, into output: inout [Int32]) {
        if symbols.count <= BytePairMerger.heapThreshold {
            mergeByScanning(word, rule: rule)
            for symbol in symbols { output.append(Int32(bitPattern: symbol.id)) }
        } else {
            mergeWithHeap(word, rule: rule, into: &output)
        }
    }

    private mutating func mergeByScanning<R: MergeRule>(_ word: UnsafeBufferPointer<UInt8>, rule: R) {
        let none = UInt32.max
        ranks.removeAll(keepingCapacity: true)
        guard symbols.count > 1 else { return }
        for index in 0..<(symbols.count - 1) {
            ranks.append(rule.merge(symbols[index], symbols[index + 1], word)?.rank ?? none)
        }
        let remaining = symbols.withUnsafeMutableBufferPointer { symbols in
            ranks.withUnsafeMutableBufferPointer { ranks in
                var count = symbols.count
                while count > 1 {
                    var best = none, at = -1
                    for index in 0..<(count - 1) where ranks[index] < best { best = ranks[index]; at = index }
                    if at < 0 { break }
                    // The merged id: for both rules it is determined by the pair; ask the rule again.
                    let result = rule.merge(symbols[at], symbols[at + 1], word)!
                    symbols[at] = MergeSymbol(id: result.merged, start: symbols[at].start, end: symbols[at + 1].end)
                    // Remove symbol at + 1 and its rank.
                    var index = at + 1
                    while index < count - 1 {
                        symbols[index] = symbols[index + 1]
                        if index + 1 < count - 1 { ranks[index] = ranks[index + 1] }
                        index += 1
                    }
                    count -= 1
                    if at + 1 < count { ranks[at] = rule.merge(symbols[at], symbols[at + 1], word)?.rank ?? none }
                    if at > 0 { ranks[at - 1] = rule.merge(symbols[at - 1], symbols[at], word)?.rank ?? none }
                }
                return count
            }
        }
        symbols.removeLast(symbols.count - remaining)
    }

    private mutating func mergeWithHeap<R: MergeRule>(_ word: UnsafeBufferPointer<UInt8>, rule: R, into output: inout [Int32]) {
        let count = symbols.count
        previous.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        heap.removeAll(keepingCapacity: true)
        for index in 0..<count {
            previous.append(Int32(index - 1))
            next.append(index + 1 < count ? Int32(index + 1) : -1)
        }
        for index in 0..<(count - 1) {
            if let result = rule.merge(symbols[index], symbols[index + 1], word) {
                heapPush(UInt64(result.rank) << 32 | UInt64(index))
            }
        }
        var alive = [Bool](repeating: true, count: count)
        while let top = heapPop() {
            let rank = UInt32(top >> 32), position = Int(top & 0xFFFF_FFFF)
            guard alive[position] else { continue }
            let right = Int(next[position])
            guard right >= 0, let result = rule.merge(symbols[position], symbols[right], word), result.rank == rank else { continue }
            symbols[position] = MergeSymbol(id: result.merged, start: symbols[position].start, end: symbols[right].end)
            alive[right] = false
            let afterRight = next[right]
            next[position] = afterRight
            if afterRight >= 0 { previous[Int(afterRight)] = Int32(position) }
            if afterRight >= 0, let merge = rule.merge(symbols[position], symbols[Int(afterRight)], word) {
                heapPush(UInt64(merge.rank) << 32 | UInt64(position))
            }
            let left = Int(previous[position])
            if left >= 0, let merge = rule.merge(symbols[left], symbols[position], word) {
                heapPush(UInt64(merge.rank) << 32 | UInt64(left))
            }
        }
        var index = 0
        while index >= 0 && index < count {
            output.append(Int32(bitPattern: symbols[index].id))
            index = Int(next[index])
        }
    }

    private mutating func heapPush(_ value: UInt64) {
        heap.append(value)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child] < heap[parent] else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func heapPop() -> UInt64? {
        guard let last = heap.popLast() else { return nil }
        guard !heap.isEmpty else { return last }
        let top = heap[0]
        heap[0] = last
        var parent = 0
        let count = heap.count
        while true {
            let left = 2 * parent + 1
            guard left < count else { break }
            var smallest = left
            if left + 1 < count, heap[left + 1] < heap[left] { smallest = left + 1 }
            guard heap[smallest] < heap[parent] else { break }
            heap.swapAt(smallest, parent)
            parent = smallest
        }
        return top
    }
}
