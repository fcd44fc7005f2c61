// SentencePiece UNIGRAM: the Viterbi best path through all pieces found in the text, scored by the pieces' log
// probabilities, as sentencepiece's (0.2.3) optimized encoder computes it: one best node per end position, float
// arithmetic, a character no piece starts with costs min score − 10, a user-defined piece of n bytes scores
// 0.1 × (n − 1), and path scores are shifted back to 0 once they pass ±100,000.

extension SentencePieceTokenizer {
    /// What the lattice needs beyond the piece map, computed once at load.
    struct UnigramTables: Sendable {
        /// Every segmentation piece and every proper prefix of one (cut at character boundaries), so that a scan
        /// from a position can stop at the first prefix no piece has. The value is the piece id, or -1 for a prefix
        /// that is no usable piece (an UNUSED piece is passed through but never chosen, as in sentencepiece).
        let lattice: ByteStringMap
        let unknownScore: Float

        init(model: ModelProto, segmentationKeys: [ByteStringMap.Key]) {
            var keys: [ByteStringMap.Key] = []
            keys.reserveCapacity(segmentationKeys.count * 3)
            for key in segmentationKeys {
                keys.append(ByteStringMap.Key(start: key.start, length: key.length,
                                              value: model.types[Int(key.value)] == .unused ? -1 : key.value))
            }
            // Prefixes come after all pieces, so a prefix that is itself a piece keeps the piece's entry.
            for key in segmentationKeys {
                var length = 0
                while true {
                    length += characterLength(lead: model.pieceBytes[Int(key.start) + length])
                    guard length < Int(key.length) else { break }
                    keys.append(ByteStringMap.Key(start: key.start, length: Int32(length), value: -1))
                }
            }
            lattice = ByteStringMap(blob: model.pieceBytes, keys: keys)
            // As sentencepiece: the minimum over NORMAL pieces, starting from FLT_MAX.
            var minimum = Float.greatestFiniteMagnitude
            for (score, type) in zip(model.scores, model.types) where type == .normal { minimum = min(minimum, score) }
            unknownScore = minimum - 10
        }
    }

    /// Encodes normalized text with the unigram model: forward pass over character boundaries, then a walk back.
    func encodeUnigram(_ text: UnsafeBufferPointer<UInt8>, into emitter: inout PieceEmitter) {
        guard let tables = unigram, let base = text.baseAddress else { return }
        let count = text.count
        // Best path ending at each byte position (only character boundaries are used): its score, where its last
        // piece starts (-1: no path yet) and that piece's id.
        let bestScore = UnsafeMutablePointer<Float>.allocate(capacity: count + 1)
        let lastStart = UnsafeMutablePointer<Int32>.allocate(capacity: count + 1)
        let lastID = UnsafeMutablePointer<Int32>.allocate(capacity: count + 1)
        defer { bestScore.deallocate(); lastStart.deallocate(); lastID.deallocate() }
        bestScore.initialize(repeating: 0, count: count + 1)
        lastStart.initialize(repeating: -1, count: count + 1)
        lastID.initialize(repeating: -1, count: count + 1)

        // Float sums lose precision as the path score grows with the text, so sentencepiece shifts the scores of
        // all nodes from the current position to the furthest one reached, once the current one passes ±100,000.
        // The shift changes later rounding, so it is part of the result and done the same way here.
        let resetThreshold: Float = 100_000
        var furthestEnd = 0
        let scorePointer = scores.pointer, typePointer = types.pointer
        var start = 0
        while start < count {
            var scoreSoFar = bestScore[start]
            if scoreSoFar < -resetThreshold || scoreSoFar > resetThreshold {
                let offset = scoreSoFar
                if start <= furthestEnd {
                    for position in start...furthestEnd where position == start || lastStart[position] != -1 {
                        bestScore[position] -= offset
                    }
                }
                scoreSoFar = 0
            }
            let firstCharacterLength = min(Self.characterLength(lead: base[start]), count - start)
            var foundSingleCharacterPiece = false
            var end = start
            while end < count {
                end += min(Self.characterLength(lead: base[end]), count - end)
                guard let id = tables.lattice.value(base + start, end - start) else { break }
                guard id >= 0 else { continue }
                furthestEnd = max(furthestEnd, end)
                let length = end - start
                // Both branches are float in sentencepiece (the bonus is computed in double, then returned as float).
                let pieceScore = typePointer[Int(id)] == .userDefined ? Float(0.1 * Double(length - 1)) : scorePointer[Int(id)]
                let candidate = pieceScore + scoreSoFar
                if lastStart[end] == -1 || candidate > bestScore[end] {
                    bestScore[end] = candidate
                    lastStart[end] = Int32(start)
                    lastID[end] = id
                }
                if length == firstCharacterLength { foundSingleCharacterPiece = true }
            }
            if !foundSingleCharacterPiece {
                let end = start + firstCharacterLength
                furthestEnd = max(furthestEnd, end)
                let candidate = tables.unknownScore + scoreSoFar
                if lastStart[end] == -1 || candidate > bestScore[end] {
                    bestScore[end] = candidate
                    lastStart[end] = Int32(start)
                    lastID[end] = unknownID
                }
            }
            start += firstCharacterLength
        }

        // Walk back from the end, then emit front to back. Every character boundary has a path (at worst through
        // an unknown character), so the walk reaches 0.
        var pieceEnds: [Int32] = []
        var end = count
        while end > 0 && lastStart[end] >= 0 {
            pieceEnds.append(Int32(end))
            end = Int(lastStart[end])
        }
        for pieceEnd in pieceEnds.reversed() {
            let pieceStart = Int(lastStart[Int(pieceEnd)])
            emitter.emit(base + pieceStart, Int(pieceEnd) - pieceStart, id: lastID[Int(pieceEnd)])
        }
    }
}
