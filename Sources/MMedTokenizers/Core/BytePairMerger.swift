/// One symbol of a word being merged: its token id and its byte range in the word.
struct MergeSymbol {
    var id: UInt32
    var start: Int32
    var end: Int32
}

/// Applies BPE merges to a word: the listed pair with the lowest rank first, the leftmost among equal ranks (as
/// tiktoken and HF tokenizers both do). Short words scan their pair ranks; long ones use a heap over a linked list,
/// so a word of n symbols costs O(n log n) however long it is. Storage is manual and reused across words: the
/// merge loop is the tokenizer's hottest code.
struct BytePairMerger: ~Copyable {
    private var capacity = 0
    private var count = 0
    private var ids: UnsafeMutablePointer<UInt32>
    private var ranks: UnsafeMutablePointer<UInt32>
    /// The id the pair starting at each symbol merges into (valid where its rank is not UInt32.max): looked up once
    /// with the rank, since every lookup is a cache miss in a large table.
    private var merged: UnsafeMutablePointer<UInt32>
    private var previous: UnsafeMutablePointer<Int32>
    private var next: UnsafeMutablePointer<Int32>
    private var heap: UnsafeMutablePointer<UInt64>
    private var heapCount = 0

    /// Words with more symbols than this use the heap.
    static let heapThreshold = 24

    init() {
        capacity = 256
        ids = .allocate(capacity: capacity)
        ranks = .allocate(capacity: capacity)
        merged = .allocate(capacity: capacity)
        previous = .allocate(capacity: capacity)
        next = .allocate(capacity: capacity)
        heap = .allocate(capacity: capacity * 3)
    }

    deinit {
        ids.deallocate(); ranks.deallocate(); merged.deallocate(); previous.deallocate(); next.deallocate(); heap.deallocate()
    }

    private mutating func reserve(_ needed: Int) {
        guard needed > capacity else { return }
        var newCapacity = capacity
        while newCapacity < needed { newCapacity *= 2 }
        func grow<T>(_ pointer: inout UnsafeMutablePointer<T>, _ size: Int) {
            let fresh = UnsafeMutablePointer<T>.allocate(capacity: size)
            fresh.update(from: pointer, count: count)
            pointer.deallocate()
            pointer = fresh
        }
        grow(&ids, newCapacity)
        grow(&ranks, newCapacity)
        grow(&merged, newCapacity)
        grow(&previous, newCapacity)
        grow(&next, newCapacity)
        heap.deallocate()
        heap = .allocate(capacity: newCapacity * 3)
        capacity = newCapacity
    }

    mutating func resetSymbols() { count = 0 }

    @inline(__always)
    mutating func appendSymbol(_ id: UInt32) {
        if count == capacity { reserve(count + 1) }
        ids[count] = id
        count += 1
    }

    /// Merges a word whose initial symbols are its bytes, each byte's id from `byteIDs`; appends the result.
    @inline(__always)
    mutating func mergeBytes(_ word: UnsafeBufferPointer<UInt8>, byteIDs: UnsafeBufferPointer<UInt32>, pairs: PairTable,
                             into output: inout [Int32]) {
        count = 0
        reserve(word.count)
        for index in 0..<word.count { ids[index] = byteIDs[Int(word[index])] }
        count = word.count
        mergeSymbols(pairs: pairs, into: &output)
    }

    /// Merges the symbols appended since `resetSymbols` and appends the resulting ids to `output`.
    mutating func mergeSymbols(pairs: PairTable, into output: inout [Int32]) {
        if count <= BytePairMerger.heapThreshold {
            mergeByScanning(pairs)
            for index in 0..<count { output.append(Int32(bitPattern: ids[index])) }
        } else {
            mergeWithHeap(pairs, into: &output)
        }
    }

    private mutating func mergeByScanning(_ pairs: PairTable) {
        guard count > 1 else { return }
        let none = UInt32.max
        let ids = self.ids, ranks = self.ranks, merged = self.merged
        pairs.withLookup { lookup in
            @inline(__always) func pair(_ index: Int) {
                if let result = lookup(ids[index], ids[index + 1]) { ranks[index] = result.rank; merged[index] = result.merged }
                else { ranks[index] = none }
            }
            for index in 0..<(count - 1) { pair(index) }
            while count > 1 {
                let at = firstMinimum(ranks, count - 1)
                if at < 0 { break }
                ids[at] = merged[at]
                // Remove symbol at + 1 (and the pair it started).
                if at + 2 < count {
                    (ids + at + 1).update(from: ids + at + 2, count: count - at - 2)
                    (ranks + at + 1).update(from: ranks + at + 2, count: count - at - 2)
                    (merged + at + 1).update(from: merged + at + 2, count: count - at - 2)
                }
                count -= 1
                if at + 1 < count { pair(at) }
                if at > 0 { pair(at - 1) }
            }
        }
    }

    /// The index of the first smallest rank below `UInt32.max` among `count`, or -1: a vectorized minimum, then a scan
    /// for its first position (the leftmost of equal ranks merges first).
    @inline(__always)
    private func firstMinimum(_ ranks: UnsafeMutablePointer<UInt32>, _ count: Int) -> Int {
        var lanes = SIMD16<UInt32>(repeating: .max)
        var index = 0
        let raw = UnsafeRawPointer(ranks)
        while index + 16 <= count {
            lanes = pointwiseMin(lanes, raw.loadUnaligned(fromByteOffset: index * 4, as: SIMD16<UInt32>.self))
            index += 16
        }
        var best = lanes.min()
        while index < count { best = Swift.min(best, ranks[index]); index += 1 }
        if best == .max { return -1 }
        index = 0
        while ranks[index] != best { index += 1 }
        return index
    }

    private mutating func mergeWithHeap(_ pairs: PairTable, into output: inout [Int32]) {
        let count = self.count
        let ids = self.ids, previous = self.previous, next = self.next, ranks = self.ranks, merged = self.merged
        let none = UInt32.max
        // `previous[i] == -2` marks a symbol merged into its left neighbour. `ranks[i]`/`merged[i]` describe the pair
        // starting at i as it is now: a heap entry whose rank differs is stale.
        for index in 0..<count {
            previous[index] = Int32(index - 1)
            next[index] = index + 1 < count ? Int32(index + 1) : -1
        }
        heapCount = 0
        pairs.withLookup { lookup in
            for index in 0..<(count - 1) {
                if let result = lookup(ids[index], ids[index + 1]) {
                    ranks[index] = result.rank; merged[index] = result.merged
                    heap[heapCount] = UInt64(result.rank) << 32 | UInt64(index); heapCount += 1
                } else {
                    ranks[index] = none
                }
            }
            ranks[count - 1] = none
            heapify()
            while heapCount > 0 {
                let top = heapPop()
                let rank = UInt32(top >> 32), position = Int(top & 0xFFFF_FFFF)
                guard previous[position] != -2, ranks[position] == rank else { continue }
                let right = Int(next[position])
                ids[position] = merged[position]
                previous[right] = -2
                let afterRight = next[right]
                next[position] = afterRight
                if afterRight >= 0 {
                    previous[Int(afterRight)] = Int32(position)
                    if let merge = lookup(ids[position], ids[Int(afterRight)]) {
                        ranks[position] = merge.rank; merged[position] = merge.merged
                        heapPush(UInt64(merge.rank) << 32 | UInt64(position))
                    } else {
                        ranks[position] = none
                    }
                } else {
                    ranks[position] = none
                }
                let left = Int(previous[position])
                if left >= 0 {
                    if let merge = lookup(ids[left], ids[position]) {
                        ranks[left] = merge.rank; merged[left] = merge.merged
                        heapPush(UInt64(merge.rank) << 32 | UInt64(left))
                    } else {
                        ranks[left] = none
                    }
                }
            }
        }
        var index = 0
        while index >= 0 {
            output.append(Int32(bitPattern: ids[index]))
            index = Int(next[index])
        }
    }

    private mutating func heapify() {
        guard heapCount > 1 else { return }
        var parent = heapCount / 2 - 1
        while parent >= 0 { siftDown(parent); parent -= 1 }
    }

    @inline(__always)
    private mutating func siftDown(_ start: Int) {
        var parent = start
        let value = heap[parent]
        while true {
            let left = 2 * parent + 1
            guard left < heapCount else { break }
            var smallest = left
            if left + 1 < heapCount, heap[left + 1] < heap[left] { smallest = left + 1 }
            guard heap[smallest] < value else { break }
            heap[parent] = heap[smallest]
            parent = smallest
        }
        heap[parent] = value
    }

    @inline(__always)
    private mutating func heapPush(_ value: UInt64) {
        // A pair is pushed at most once per merge, and merges are fewer than symbols: 3 × capacity never overflows.
        var child = heapCount
        heapCount += 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard value < heap[parent] else { break }
            heap[child] = heap[parent]
            child = parent
        }
        heap[child] = value
    }

    @inline(__always)
    private mutating func heapPop() -> UInt64 {
        let top = heap[0]
        heapCount -= 1
        if heapCount > 0 {
            heap[0] = heap[heapCount]
            siftDown(0)
        }
        return top
    }
}
