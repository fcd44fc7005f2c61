import Foundation

// SentencePiece BPE: start from characters (user-defined pieces stay whole and never merge) and repeatedly merge the
// adjacent pair whose concatenation is a piece with the highest score, the leftmost on a tie. A binary heap of
// candidate pairs and a linked list of symbols make this O(n log n); stale heap entries are recognised by their
// length and skipped, as sentencepiece does. Short segments (words) use a plain scan over their few pairs instead,
// which picks the same pair at every step.

extension SentencePieceTokenizer {
    /// What BPE needs beyond the piece map, computed once at load.
    struct BPETables: Sendable {
        /// Whether the model has UNUSED pieces: merges may pass through them, and they are split back afterwards.
        let hasUnusedPieces: Bool
        /// Whether the normalized text may be cut into independent segments before each "▁" (see `encodeBPE`).
        let splitsAtSpaceSymbols: Bool
        /// Bytes that end a character which some piece has right before a "▁": no cut after them.
        let blocksSplitAfterByte: FrozenBuffer<Bool>
        /// The pieces a merge may produce (normal, user-defined, unused), with their score keys: each score as an
        /// integer with the order sentencepiece's heap uses, the float order except that -0.0 ranks below +0.0 and
        /// NaNs rank by their bits (it compares the scores' bit patterns).
        let merges: BPEMergeMap

        /// `segmentationKeys` are the normal, user-defined and unused pieces.
        init(model: ModelProto, segmentationKeys: [ByteStringMap.Key], normalizer: Normalizer) {
            hasUnusedPieces = model.types.contains(.unused)
            var blocks = [Bool](repeating: false, count: 256)
            var allPiecesValid = true
            model.pieceBytes.withUnsafeBufferPointer { blob in
                let base = blob.baseAddress!
                for key in segmentationKeys {
                    let piece = base + Int(key.start), length = Int(key.length)
                    var index = 0
                    while index < length {
                        guard let characterLength = validUTF8Length(piece + index, length - index) else {
                            allPiecesValid = false
                            return
                        }
                        if index > 0 && isSpaceSymbol(piece + index, length - index)
                            && !(index >= 3 && isSpaceSymbol(piece + index - 3, 3)) {
                            blocks[Int(piece[index - 1])] = true
                        }
                        index += characterLength
                    }
                }
            }
            // The argument in `encodeBPE` needs character boundaries that the byte-level test can see: valid UTF-8
            // in the pieces and in the normalized text.
            // With UNUSED pieces the queue order decides how they are split back (see `mergeSegment`), and cutting
            // changes that order, so such models are merged in one piece.
            splitsAtSpaceSymbols = allPiecesValid && normalizer.preservesValidUTF8 && !hasUnusedPieces
            blocksSplitAfterByte = FrozenBuffer(blocks)
            let scoreKeys = model.scores.map { score in
                let bits = score.bitPattern
                return bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
            }
            merges = BPEMergeMap(blob: model.pieceBytes, keys: segmentationKeys, scoreKeys: scoreKeys)
        }
    }

    /// The map BPE asks "is this pair's concatenation a piece, and with what score?" a few times per character.
    /// Its answer is one 16-byte slot: the key's first 8 bytes, the score key, the id and the key length, so a
    /// lookup costs one cache miss at most (`ByteStringMap` would add one for the score). Keys longer than 8 bytes
    /// are also compared with the blob. Ids must be below 2^24 (`init` is only called for such models).
    struct BPEMergeMap: Sendable {
        struct Slot {
            var prefix: UInt64
            var scoreKey: UInt32
            /// id << 8 | min(length, 255); 0 marks an empty slot (every key has a length).
            var idAndLength: UInt32
        }
        // Owners of the memory, and plain pointers into it for lookups (`nonisolated(unsafe)` for the reason given
        // in `ByteStringMap`: read-only memory owned by the same struct).
        private let blobOwner: FrozenBuffer<UInt8>
        private let slotsOwner: FrozenBuffer<Slot>
        private let slotKeyStartsOwner: FrozenBuffer<Int32>
        private let slotKeyLengthsOwner: FrozenBuffer<Int32>
        nonisolated(unsafe) private let blob: UnsafePointer<UInt8>
        nonisolated(unsafe) private let slots: UnsafePointer<Slot>
        /// For each slot, where its key starts in `blob` and its full length (read only for keys over 8 bytes).
        nonisolated(unsafe) private let slotKeyStarts: UnsafePointer<Int32>
        nonisolated(unsafe) private let slotKeyLengths: UnsafePointer<Int32>
        private let slotShift: UInt64
        private let slotMask: Int
        private let longestKey: Int
        /// The ids of the first two keys found to have the same text (the loader refuses such a model).
        let firstDuplicate: (Int32, Int32)?

        init(blob: [UInt8], keys: [ByteStringMap.Key], scoreKeys: [UInt32]) {
            var slotCount = 8
            while slotCount < keys.count * 2 { slotCount <<= 1 }
            let shift = UInt64(64 - slotCount.trailingZeroBitCount)
            var slots = [Slot](repeating: Slot(prefix: 0, scoreKey: 0, idAndLength: 0), count: slotCount)
            var starts = [Int32](repeating: 0, count: slotCount), lengths = [Int32](repeating: 0, count: slotCount)
            var longest = 0
            var duplicate: (Int32, Int32)? = nil
            blob.withUnsafeBufferPointer { bytes in
                let base = bytes.baseAddress ?? UnsafePointer(bitPattern: 1)!
                for key in keys where key.length > 0 {
                    let length = Int(key.length)
                    let (hash, prefix) = ByteStringMap.hashAndPrefix(base + Int(key.start), length)
                    var slot = Int(truncatingIfNeeded: hash >> shift)
                    var isDuplicate = false
                    while slots[slot].idAndLength != 0 {
                        if slots[slot].prefix == prefix && lengths[slot] == key.length
                            && memcmp(base + Int(starts[slot]), base + Int(key.start), length) == 0 {
                            isDuplicate = true
                            break
                        }
                        slot = (slot + 1) & (slotCount - 1)
                    }
                    if isDuplicate {
                        if duplicate == nil { duplicate = (Int32(bitPattern: slots[slot].idAndLength >> 8), key.value) }
                        continue
                    }
                    slots[slot] = Slot(prefix: prefix, scoreKey: scoreKeys[Int(key.value)],
                                       idAndLength: UInt32(key.value) << 8 | UInt32(min(length, 255)))
                    starts[slot] = key.start
                    lengths[slot] = key.length
                    longest = max(longest, length)
                }
            }
            blobOwner = FrozenBuffer(blob)
            slotsOwner = FrozenBuffer(slots)
            slotKeyStartsOwner = FrozenBuffer(starts)
            slotKeyLengthsOwner = FrozenBuffer(lengths)
            self.blob = blobOwner.pointer
            self.slots = slotsOwner.pointer
            slotKeyStarts = slotKeyStartsOwner.pointer
            slotKeyLengths = slotKeyLengthsOwner.pointer
            slotShift = shift
            slotMask = slotCount - 1
            longestKey = longest
            firstDuplicate = duplicate
        }

        /// The piece id and score key of the `length` bytes at `pointer`, if they are a piece a merge may produce.
        @inline(__always)
        func lookUp(_ pointer: UnsafePointer<UInt8>, _ length: Int) -> (id: Int32, scoreKey: UInt32)? {
            if length > longestKey || length == 0 { return nil }
            let (hash, prefix) = ByteStringMap.hashAndPrefix(pointer, length)
            let shortLength = UInt32(min(length, 255))
            var slot = Int(truncatingIfNeeded: hash >> slotShift)
            while true {
                let candidate = slots[slot]
                if candidate.idAndLength == 0 { return nil }
                if candidate.prefix == prefix && candidate.idAndLength & 0xFF == shortLength
                    && (length <= 8 || matchesLongKey(slot, pointer, length)) {
                    return (Int32(bitPattern: candidate.idAndLength >> 8), candidate.scoreKey)
                }
                slot = (slot + 1) & slotMask
            }
        }

        private func matchesLongKey(_ slot: Int, _ pointer: UnsafePointer<UInt8>, _ length: Int) -> Bool {
            Int(slotKeyLengths[slot]) == length && memcmp(blob + Int(slotKeyStarts[slot]) + 8, pointer + 8, length - 8) == 0
        }
    }

    /// One symbol of the linked list: a range of the normalized text. A symbol merged into its left neighbour keeps
    /// length 0.
    struct BPESymbol {
        var start: Int32
        var length: Int32
        var previous: Int32
        var next: Int32
        /// The id of the piece the symbol is, once merged; -1 until then.
        var id: Int32
        /// User-defined pieces never merge.
        var isFrozen: Bool
    }

    /// A candidate merge of `left` and its right neighbour `right`; `length` is the merged byte length at the time
    /// it was queued, which tells a stale entry apart.
    struct BPECandidate {
        var scoreKey: UInt32
        var left: Int32
        var right: Int32
        var length: Int32
        var outputID: Int32

        /// Heap order: higher score first, then the leftmost.
        @inline(__always)
        func precedes(_ other: BPECandidate) -> Bool {
            scoreKey > other.scoreKey || (scoreKey == other.scoreKey && left < other.left)
        }
    }

    /// Encodes normalized text with BPE.
    ///
    /// sentencepiece merges over the whole text at once. Cutting the text before a "▁" gives the same result when no
    /// piece contains the character before the cut followed by "▁": then no merge can ever join the two sides, and
    /// merges on one side neither see nor change the other (the heap order restricted to one side is the same). The
    /// cut is only made after a character that is not "▁" itself and whose last byte ends no such character in any
    /// piece (`blocksSplitAfterByte`), which keeps heaps small and hot in cache.
    func encodeBPE(_ text: UnsafeBufferPointer<UInt8>, into emitter: inout PieceEmitter) {
        guard let tables = bpe, let base = text.baseAddress else { return }
        var merger = BPEMerger(tokenizer: self, tables: tables, text: base)
        let count = text.count
        guard tables.splitsAtSpaceSymbols else {
            merger.encodeSegment(0, count, into: &emitter)
            return
        }
        let cache = bpeWordCaches.take()
        defer { bpeWordCaches.giveBack(cache) }
        merger.cache = cache
        let blocks = tables.blocksSplitAfterByte.pointer
        var segmentStart = 0
        var position = 1
        while position + 3 <= count {
            // "▁" is E2 96 81; E2 is never a continuation byte, so a match is a character boundary.
            if base[position] == Self.spaceSymbol.0 && base[position + 1] == Self.spaceSymbol.1 && base[position + 2] == Self.spaceSymbol.2 {
                if !blocks[Int(base[position - 1])] && !(position >= 3 && Self.isSpaceSymbol(base + position - 3, 3)) {
                    merger.encodeSegment(segmentStart, position, into: &emitter)
                    segmentStart = position
                }
                position += 3
            } else {
                position += 1
            }
        }
        merger.encodeSegment(segmentStart, count, into: &emitter)
    }

    /// The BPE state of one `encode`: scratch memory, reused across segments, and the recorded splits of UNUSED
    /// pieces. A plain struct with raw pointers, so the hot loops have no closures, no array bounds checks and no
    /// dynamic exclusivity checks.
    struct BPEMerger: ~Copyable {
        /// Segments of at most this many symbols use the scan (`mergeShortSegment`); longer ones the heap.
        static let longestScannedSegment = 48

        let tokenizer: SentencePieceTokenizer
        let merges: BPEMergeMap
        let types: UnsafePointer<PieceType>
        let userDefined: UserDefinedMatcher?
        let hasUnusedPieces: Bool
        let text: UnsafePointer<UInt8>
        private var symbols: UnsafeMutablePointer<BPESymbol>
        private var symbolCapacity: Int
        private var heap: UnsafeMutablePointer<BPECandidate>
        private var heapCount = 0
        /// The scan's state for a short segment: each symbol's start, length and id (-1 until known), and for
        /// each adjacent pair the score key of its merge (as UInt64, `noMerge` where there is none) and the id.
        private let scanStarts: UnsafeMutablePointer<Int32>
        private let scanLengths: UnsafeMutablePointer<Int32>
        private let scanIDs: UnsafeMutablePointer<Int32>
        private let scanFrozen: UnsafeMutablePointer<Bool>
        private let pairScores: UnsafeMutablePointer<UInt64>
        private let pairIDs: UnsafeMutablePointer<Int32>
        private static let noMerge = UInt64.max
        /// UNUSED piece id → the byte length of the left part it was last queued with.
        private var unusedSplits: [Int32: Int32] = [:]
        /// The current segment's pieces.
        private var segmentPieces: [BPEPiece] = []
        /// Segment → pieces, across calls (only when the text is cut into segments). Unowned: `encodeBPE` holds the
        /// cache for as long as this merger lives, and skipping reference counting matters once per segment.
        unowned(unsafe) var cache: BPEWordCache? = nil
        let unknownID: Int32

        init(tokenizer: SentencePieceTokenizer, tables: BPETables, text: UnsafePointer<UInt8>) {
            self.tokenizer = tokenizer
            unknownID = tokenizer.unknownID
            merges = tables.merges
            types = tokenizer.types.pointer
            userDefined = tokenizer.userDefined
            hasUnusedPieces = tables.hasUnusedPieces
            self.text = text
            symbolCapacity = 64
            symbols = .allocate(capacity: symbolCapacity)
            heap = .allocate(capacity: 3 * symbolCapacity)
            let scanCapacity = Self.longestScannedSegment
            scanStarts = .allocate(capacity: scanCapacity)
            scanLengths = .allocate(capacity: scanCapacity)
            scanIDs = .allocate(capacity: scanCapacity)
            scanFrozen = .allocate(capacity: scanCapacity)
            pairScores = .allocate(capacity: scanCapacity)
            pairIDs = .allocate(capacity: scanCapacity)
        }

        deinit {
            symbols.deallocate()
            heap.deallocate()
            scanStarts.deallocate()
            scanLengths.deallocate()
            scanIDs.deallocate()
            scanFrozen.deallocate()
            pairScores.deallocate()
            pairIDs.deallocate()
        }

        /// Makes room for a segment of `length` bytes: at most one symbol per byte, and since every merge pops one
        /// candidate and queues at most two, fewer than three heap entries per byte.
        private mutating func reserve(_ length: Int) {
            guard length > symbolCapacity else { return }
            symbols.deallocate()
            heap.deallocate()
            symbolCapacity = max(length, symbolCapacity * 2)
            symbols = .allocate(capacity: symbolCapacity)
            heap = .allocate(capacity: 3 * symbolCapacity)
        }

        /// Encodes `text[start..<end]` (from the cache when it holds the segment) and emits its pieces.
        mutating func encodeSegment(_ start: Int, _ end: Int, into emitter: inout PieceEmitter) {
            let length = end - start
            guard length > 0 else { return }
            var slot = -1, tag: UInt32 = 0
            if length <= BPEWordCache.longestSegment, let cache {
                let found = cache.find(text + start, length)
                if let pieces = found.pieces {
                    var offset = start
                    for index in 0..<found.count {
                        let piece = BPEWordCache.piece(pieces, at: index)
                        emitter.emit(text + offset, Int(piece.length), id: piece.id)
                        offset += Int(piece.length)
                    }
                    return
                }
                (slot, tag) = (found.slot, found.tag)
            }
            segmentPieces.removeAll(keepingCapacity: true)
            // The scan visits pairs in the same order as the heap version queues them, but UNUSED pieces' splits
            // depend on that order over the whole text, so such models always take the heap.
            if hasUnusedPieces || !mergeShortSegment(start, end) { mergeSegment(start, end) }
            var offset = start
            for piece in segmentPieces {
                emitter.emit(text + offset, Int(piece.length), id: piece.id)
                offset += Int(piece.length)
            }
            if slot >= 0, let cache { cache.store(slot: slot, tag: tag, key: text + start, length: length, pieces: segmentPieces) }
        }

        /// The id and score key of merging the symbols, if they may merge.
        @inline(__always)
        private func mergeOf(_ start: Int32, _ length: Int32) -> (id: Int32, scoreKey: UInt32)? {
            merges.lookUp(text + Int(start), Int(length))
        }

        /// The output id of a final symbol: its piece id, or unknown for a text that is no mergeable piece (BPE maps
        /// reserved pieces to unknown too).
        @inline(__always)
        private func outputID(_ start: Int, _ length: Int) -> Int32 {
            merges.lookUp(text + start, length)?.id ?? unknownID
        }

        /// BPE on a segment of at most `longestScannedSegment` symbols: keep each adjacent pair's merge score, pick
        /// the best (leftmost on a tie) by scanning, merge, and look up only the two pairs that changed. The heap
        /// version pops the same pair at every step: its valid entries are exactly the current adjacent pairs that
        /// are pieces, ordered by score and then by position. Returns false (doing nothing) for a longer segment.
        private mutating func mergeShortSegment(_ start: Int, _ end: Int) -> Bool {
            var count = 0
            var position = start
            while position < end {
                if count == Self.longestScannedSegment { return false }
                let available = end - position
                var symbolLength = min(SentencePieceTokenizer.characterLength(lead: text[position]), available)
                var isFrozen = false
                if let userDefined, let matched = userDefined.longestMatch(text + position, available) {
                    symbolLength = matched
                    isFrozen = true
                }
                scanStarts[count] = Int32(position)
                scanLengths[count] = Int32(symbolLength)
                scanIDs[count] = -1
                scanFrozen[count] = isFrozen
                count += 1
                position += symbolLength
            }
            @inline(__always) func scorePair(_ index: Int) {
                pairScores[index] = Self.noMerge
                guard !scanFrozen[index], !scanFrozen[index + 1],
                      let merge = mergeOf(scanStarts[index], scanLengths[index] + scanLengths[index + 1]) else { return }
                pairScores[index] = UInt64(merge.scoreKey)
                pairIDs[index] = merge.id
            }
            for index in 0..<max(count - 1, 0) { scorePair(index) }
            while count > 1 {
                var best = -1, bestScore: UInt64 = 0
                for index in 0..<(count - 1) {
                    let score = pairScores[index]
                    if score != Self.noMerge && (best < 0 || score > bestScore) { best = index; bestScore = score }
                }
                if best < 0 { break }
                scanLengths[best] += scanLengths[best + 1]
                scanIDs[best] = pairIDs[best]
                // Remove symbol best + 1 (and pair best + 1, which has become pair best).
                let tail = count - best - 2
                if tail > 0 {
                    (scanStarts + best + 1).update(from: scanStarts + best + 2, count: tail)
                    (scanLengths + best + 1).update(from: scanLengths + best + 2, count: tail)
                    (scanIDs + best + 1).update(from: scanIDs + best + 2, count: tail)
                    (scanFrozen + best + 1).update(from: scanFrozen + best + 2, count: tail)
                    (pairScores + best + 1).update(from: pairScores + best + 2, count: tail - 1 > 0 ? tail - 1 : 0)
                    (pairIDs + best + 1).update(from: pairIDs + best + 2, count: tail - 1 > 0 ? tail - 1 : 0)
                }
                count -= 1
                if best > 0 { scorePair(best - 1) }
                if best < count - 1 { scorePair(best) }
            }
            for index in 0..<count {
                let id = scanIDs[index] >= 0 ? scanIDs[index] : outputID(Int(scanStarts[index]), Int(scanLengths[index]))
                segmentPieces.append(BPEPiece(length: scanLengths[index], id: id))
            }
            return true
        }

        @inline(__always)
        private mutating func push(_ candidate: BPECandidate) {
            var child = heapCount
            heapCount += 1
            while child > 0 {
                let parent = (child - 1) >> 1
                guard candidate.precedes(heap[parent]) else { break }
                heap[child] = heap[parent]
                child = parent
            }
            heap[child] = candidate
        }

        @inline(__always)
        private mutating func popTop() -> BPECandidate {
            let top = heap[0]
            heapCount -= 1
            let last = heap[heapCount]
            var parent = 0
            while true {
                var child = 2 * parent + 1
                if child >= heapCount { break }
                if child + 1 < heapCount && heap[child + 1].precedes(heap[child]) { child += 1 }
                guard heap[child].precedes(last) else { break }
                heap[parent] = heap[child]
                parent = child
            }
            if heapCount > 0 { heap[parent] = last }
            return top
        }

        /// Queues the merge of `left` and `right` if both may merge and their concatenation is a normal,
        /// user-defined or unused piece.
        @inline(__always)
        private mutating func queuePair(_ left: Int32, _ right: Int32) {
            guard left >= 0, right >= 0 else { return }
            let leftSymbol = symbols[Int(left)], rightSymbol = symbols[Int(right)]
            guard !leftSymbol.isFrozen, !rightSymbol.isFrozen,
                  let merge = mergeOf(leftSymbol.start, leftSymbol.length + rightSymbol.length) else { return }
            if hasUnusedPieces && types[Int(merge.id)] == .unused {
                // Like sentencepiece: the split of an UNUSED piece is recorded when the pair is queued, and the last
                // one recorded for that text is used to split it back after merging.
                unusedSplits[merge.id] = leftSymbol.length
            }
            push(BPECandidate(scoreKey: merge.scoreKey, left: left, right: right, length: leftSymbol.length + rightSymbol.length,
                              outputID: merge.id))
        }

        /// Runs BPE with the heap on `text[start..<end]` and appends its pieces to `segmentPieces`.
        private mutating func mergeSegment(_ start: Int, _ end: Int) {
            let length = end - start
            reserve(length)
            var symbolCount = 0
            var position = start
            while position < end {
                let available = end - position
                var symbolLength = min(SentencePieceTokenizer.characterLength(lead: text[position]), available)
                var isFrozen = false
                if let userDefined, let matched = userDefined.longestMatch(text + position, available) {
                    symbolLength = matched
                    isFrozen = true
                }
                symbols[symbolCount] = BPESymbol(start: Int32(position), length: Int32(symbolLength), previous: Int32(symbolCount - 1),
                                                 next: Int32(symbolCount + 1), id: -1, isFrozen: isFrozen)
                symbolCount += 1
                position += symbolLength
            }
            symbols[symbolCount - 1].next = -1

            heapCount = 0
            for index in 1..<max(symbolCount, 1) { queuePair(Int32(index - 1), Int32(index)) }
            while heapCount > 0 {
                let top = popTop()
                let left = Int(top.left), right = Int(top.right)
                let leftLength = symbols[left].length, rightLength = symbols[right].length
                // A stale entry: one side was merged away or grew since it was queued.
                guard leftLength > 0, rightLength > 0, leftLength + rightLength == top.length else { continue }
                symbols[left].length = leftLength + rightLength
                symbols[left].id = top.outputID
                let next = symbols[right].next
                symbols[left].next = next
                if next >= 0 { symbols[Int(next)].previous = Int32(left) }
                symbols[right].length = 0
                queuePair(symbols[left].previous, Int32(left))
                queuePair(Int32(left), next)
            }

            var index: Int32 = 0
            while index >= 0 {
                let symbol = symbols[Int(index)]
                let symbolStart = Int(symbol.start), symbolLength = Int(symbol.length)
                let id = symbol.id >= 0 ? symbol.id : outputID(symbolStart, symbolLength)
                if hasUnusedPieces {
                    appendResegmented(text + symbolStart, symbolLength, id: id, depth: 0)
                } else {
                    segmentPieces.append(BPEPiece(length: Int32(symbolLength), id: id))
                }
                index = symbol.next
            }
        }

        /// Appends a piece as sentencepiece's BPE outputs it: an UNUSED piece is split back into the two pieces it
        /// was merged from (recursively, at most 100 levels deep); a text that is no mergeable piece is unknown.
        private mutating func appendResegmented(_ pointer: UnsafePointer<UInt8>, _ length: Int, id: Int32, depth: Int) {
            func append(_ id: Int32) { segmentPieces.append(BPEPiece(length: Int32(length), id: id)) }
            // Past 100 levels sentencepiece gives up and emits the text's id as its all-pieces map finds it.
            if depth > 100 { append(tokenizer.segmentationPieceID(pointer, length)); return }
            if id == unknownID { append(unknownID); return }
            if types[Int(id)] != .unused { append(id); return }
            guard let leftLength = unusedSplits[id].map(Int.init), leftLength > 0, leftLength < length else {
                append(unknownID)
                return
            }
            let rightLength = length - leftLength
            appendResegmented(pointer, leftLength, id: merges.lookUp(pointer, leftLength)?.id ?? unknownID, depth: depth + 1)
            appendResegmented(pointer + leftLength, rightLength,
                              id: merges.lookUp(pointer + leftLength, rightLength)?.id ?? unknownID, depth: depth + 1)
        }
    }
}
