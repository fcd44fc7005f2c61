/// Japanese words as janome 0.5.1 splits them: `[t.surface for t in Tokenizer().tokenize(text)]` with the default
/// system dictionary and options, which MMedBench's scoring script uses for BLEU and ROUGE on Japanese.
///
/// janome strips the text (Python's `str.strip()`), then cuts it into chunks of at most 1,024 characters, ending a
/// chunk early after 500 characters at a punctuation mark or blank line, and finds the cheapest path through each
/// chunk's lattice of dictionary words and unknown words. Everything here counts Unicode scalars, as Python does.
public struct JanomeSegmenter: WordSegmenter {
    private let dictionary: JanomeDictionary

    /// janome's `Tokenizer.MAX_CHUNK_SIZE`, `Tokenizer.CHUNK_SIZE` and default `max_unknown_length`.
    static let maximumChunkLength = 1024
    static let preferredChunkLength = 500
    static let maximumUnknownWordLength = 1024
    /// janome looks dictionary words up in the next 50 characters only.
    static let lookupWindow = 50

    /// Loads janome's system dictionary; `packageFile` returns a file's bytes by its path inside the janome package
    /// folder (`"sysdic/connections1.py"`). Malformed data throws an error naming the file and line.
    public init(packageFile: (String) throws -> [UInt8]) throws {
        dictionary = try JanomeDictionary(packageFile: packageFile)
    }

    public func segment(_ text: String) -> [String] {
        var utf8: [UInt8] = []
        var scalars: [UInt32] = []
        /// `byteOffsets[i]` is where scalar `i` starts in `utf8`; one more entry marks the end.
        var byteOffsets: [Int] = []
        utf8.reserveCapacity(text.utf8.count)
        scalars.reserveCapacity(text.utf8.count)
        byteOffsets.reserveCapacity(text.utf8.count + 1)
        for scalar in text.unicodeScalars {
            byteOffsets.append(utf8.count)
            scalars.append(scalar.value)
            UTF8.encode(scalar) { utf8.append($0) }
        }
        byteOffsets.append(utf8.count)

        var start = 0, end = scalars.count
        while start < end, PythonText.isWhitespace(scalars[start]) { start += 1 }
        while end > start, PythonText.isWhitespace(scalars[end - 1]) { end -= 1 }

        var words: [String] = []
        var lattice = JanomeLattice()
        scalars.withUnsafeBufferPointer { scalars in
            var processed = start
            while processed < end {
                let chunk = UnsafeBufferPointer(rebasing: scalars[processed..<end])
                let (path, consumed) = bestPath(through: chunk, lattice: &lattice)
                for word in path {
                    let bytes = byteOffsets[processed + word.start]..<byteOffsets[processed + word.start + word.length]
                    words.append(String(decoding: utf8[bytes], as: UTF8.self))
                }
                processed += consumed
            }
        }
        return words
    }

    /// janome's `__tokenize_partial`: the words of the chunk at the start of `text` (the rest of the stripped text),
    /// and how many scalars the chunk has.
    private func bestPath(
        through text: UnsafeBufferPointer<UInt32>, lattice: inout JanomeLattice
    ) -> (words: [(start: Int, length: Int)], consumed: Int) {
        let chunkLength = min(text.count, Self.maximumChunkLength)
        let trie = dictionary.surfaces
        let unknownWords = dictionary.unknownWords
        lattice.reset(size: chunkLength)
        var position = 0
        while !endsChunk(text, at: position) {
            // Dictionary words starting here, shortest first and by entry id. janome adds them in the order of a
            // Python set, which cannot change the split: of equally cheap predecessors the first met wins, unless
            // it is a dictionary word, when the smallest id among the dictionary words wins; and a position's
            // dictionary words are all added before its unknown words.
            var matched = false
            var node = JanomeSurfaceTrie.root
            for offset in 0..<min(Self.lookupWindow, chunkLength - position) {
                guard let next = trie.child(of: node, scalar: text[position + offset]) else { break }
                node = next
                for index in trie.entries(at: node) {
                    let id = Int(trie.entryId(index))
                    lattice.add(
                        start: position, length: offset + 1, leftId: dictionary.leftIds[id],
                        rightId: dictionary.rightIds[id], cost: dictionary.costs[id], entryNumber: Int32(id),
                        dictionary: dictionary)
                    matched = true
                }
            }
            // Unknown words starting here: one run per category of this character, with a node per unk.def entry.
            let characterClass = unknownWords.classes[unknownWords.characterClass(text[position])]
            for categoryIndex in characterClass.categories {
                let category = unknownWords.categories[categoryIndex]
                if matched && !category.invokedAlways { continue }
                let maximumLength = category.groups ? Self.maximumUnknownWordLength : category.length
                let runLimit = min(chunkLength, position + maximumLength + 1)
                let bit: UInt64 = 1 << UInt64(categoryIndex)
                var runEnd = position + 1
                while runEnd < runLimit,
                    unknownWords.classes[unknownWords.characterClass(text[runEnd])].continues & bit != 0
                {
                    runEnd += 1
                }
                for entry in category.entries {
                    lattice.add(
                        start: position, length: runEnd - position, leftId: entry.leftId, rightId: entry.rightId,
                        cost: entry.cost, entryNumber: -1, dictionary: dictionary)
                }
            }
            // janome's `Lattice.forward`: on to the next position where some word ends.
            repeat { position += 1 } while !lattice.hasNodes(endingAt: position)
        }
        return (lattice.bestPath(endingAt: position, dictionary: dictionary), position)
    }

    /// janome's `__should_split`: the chunk ends at the end of the text, at 1,024 characters, or after 500 at a
    /// punctuation mark or a blank line.
    private func endsChunk(_ text: UnsafeBufferPointer<UInt32>, at position: Int) -> Bool {
        if position >= text.count || position >= Self.maximumChunkLength { return true }
        guard position >= Self.preferredChunkLength else { return false }
        switch text[position - 1] {
        // 、 。 , . ？ ? ！ !
        case 0x3001, 0x3002, 0x2C, 0x2E, 0xFF1F, 0x3F, 0xFF01, 0x21: return true
        case 0x0A:
            if text[position - 2] == 0x0A { return true }
            return position >= 4 && text[position - 2] == 0x0D && text[position - 3] == 0x0A && text[position - 4] == 0x0D
        default: return false
        }
    }
}
