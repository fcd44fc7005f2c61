import Foundation

/// The vocabulary of a tokenizer.json model: token strings by id, and an index from the bytes the model works on
/// (raw bytes for byte-level models, UTF-8 otherwise) to ids.
struct ModelVocabulary: Sendable {
    let strings: [String?]
    let table: TokenTable
    let byteLevel: Bool

    init(_ vocab: [(token: String, id: Int)], byteLevel: Bool, path: String, file: String) throws {
        let size = (vocab.map(\.id).max() ?? -1) + 1
        var strings = [String?](repeating: nil, count: size)
        for (token, id) in vocab {
            guard id >= 0 else { throw TokenizerError(.malformed, file: file, "\(path): token \(token.debugDescription) has a negative id") }
            strings[id] = token
        }
        self.strings = strings
        self.byteLevel = byteLevel
        table = TokenTable(tokens: strings.lazy.map { token -> [UInt8]? in
            guard let token else { return nil }
            return byteLevel ? ByteLevelAlphabet.bytes(of: token) : Array(token.utf8)
        }, count: size)
    }

    /// The model-space bytes of a token string.
    func modelBytes(_ token: String) -> [UInt8]? { byteLevel ? ByteLevelAlphabet.bytes(of: token) : Array(token.utf8) }

    func id(of token: String) -> Int32? { modelBytes(token).flatMap { table.lookup($0) } }
}

/// A BPE model of tokenizer.json.
struct BPEModel: Sendable {
    let vocabulary: ModelVocabulary
    let pairs: PairTable
    let unknownID: UInt32?
    let fuseUnknown: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    let continuingSubwordPrefix: [UInt8]?
    let endOfWordSuffix: [UInt8]?
    /// Ids of `<0x00>` … `<0xFF>` (byte fallback), and of single bytes for byte-level models.
    let byteTokenIDs: [UInt32?]

    init(_ json: JSONObject, byteLevel: Bool, ignoreMergesOverride: Bool? = nil) throws {
        vocabulary = try ModelVocabulary(try json.tokenIDs("vocab"), byteLevel: byteLevel, path: json.path + ".vocab", file: json.file)
        fuseUnknown = json.bool("fuse_unk", default: false)
        byteFallback = json.bool("byte_fallback", default: false)
        ignoreMerges = ignoreMergesOverride ?? json.bool("ignore_merges", default: false)
        continuingSubwordPrefix = json.optionalString("continuing_subword_prefix").map { Array($0.utf8) }
        endOfWordSuffix = json.optionalString("end_of_word_suffix").map { Array($0.utf8) }
        if let unk = json.optionalString("unk_token") {
            guard let id = vocabulary.id(of: unk) else { throw json.error("unk_token \(unk.debugDescription) is not in the vocabulary") }
            unknownID = UInt32(id)
        } else {
            unknownID = nil
        }
        let merges = try json.array("merges")
        var pairs = PairTable(count: merges.count)
        for (rank, entry) in merges.enumerated() {
            let left: String, right: String
            if let line = entry.string {
                // Split on the first space byte-wise: a Character split misses " " before a combining mark.
                let utf8 = Array(line.utf8)
                guard let space = utf8.firstIndex(of: 0x20) else { throw json.error("merges[\(rank)]: expected \"left right\", got \(line.debugDescription)") }
                left = String(decoding: utf8[..<space], as: UTF8.self); right = String(decoding: utf8[(space + 1)...], as: UTF8.self)
            } else if let pair = entry.array, pair.count == 2, let first = pair[0].string, let second = pair[1].string {
                left = first; right = second
            } else {
                throw json.error("merges[\(rank)]: expected a string or a pair of strings")
            }
            var mergedString = left + right
            if let prefix = json.optionalString("continuing_subword_prefix"), !prefix.isEmpty {
                // HF drops the prefix's length from the right part, whatever it starts with.
                guard right.utf8.count >= prefix.utf8.count else {
                    throw json.error("merges[\(rank)]: \(right.debugDescription) is shorter than the continuing_subword_prefix")
                }
                mergedString = left + String(decoding: right.utf8.dropFirst(prefix.utf8.count), as: UTF8.self)
            }
            guard let leftID = vocabulary.id(of: left), let rightID = vocabulary.id(of: right) else {
                throw json.error("merges[\(rank)]: \(left.debugDescription) or \(right.debugDescription) is not in the vocabulary")
            }
            guard let mergedID = vocabulary.id(of: mergedString) else {
                throw json.error("merges[\(rank)]: the merge result \(mergedString.debugDescription) is not in the vocabulary")
            }
            pairs.insert(left: UInt32(leftID), right: UInt32(rightID), rank: UInt32(rank), merged: UInt32(mergedID))
        }
        self.pairs = pairs
        var byteTokenIDs = [UInt32?](repeating: nil, count: 256)
        for byte in 0..<256 {
            if byteLevel {
                byteTokenIDs[byte] = vocabulary.table.lookup([UInt8(byte)]).map(UInt32.init)
            } else {
                byteTokenIDs[byte] = vocabulary.id(of: String(format: "<0x%02X>", byte)).map(UInt32.init)
            }
        }
        self.byteTokenIDs = byteTokenIDs
    }

    /// Encodes one pre-tokenized word (model-space bytes), appending ids.
    func encode(_ word: UnsafeBufferPointer<UInt8>, merger: inout BytePairMerger, into output: inout [Int32]) {
        if word.isEmpty { return }
        if ignoreMerges, let id = vocabulary.table.lookup(word) { output.append(id); return }
        merger.resetSymbols()
        if vocabulary.byteLevel && continuingSubwordPrefix == nil && endOfWordSuffix == nil {
            var complete = true
            for index in 0..<word.count {
                guard let id = byteTokenIDs[Int(word[index])] else { complete = false; break }
                merger.appendSymbol(id)
            }
            if complete { merger.mergeSymbols(pairs: pairs, into: &output); return }
            merger.resetSymbols()
        }
        // Characters as initial symbols, with prefix/suffix, byte fallback and unknown handling as HF's
        // `merge_word`: an unknown symbol is held back until the next known character (or the end), so byte-fallback
        // symbols in between come before it, and with fuse_unk the held one absorbs further unknown characters.
        var index = 0
        var pendingUnknown = false
        var scratch: [UInt8] = []
        while index < word.count {
            let length = vocabulary.byteLevel ? 1 : utf8Length(word[index])
            let end = min(index + length, word.count)
            scratch.removeAll(keepingCapacity: true)
            if index > 0, let prefix = continuingSubwordPrefix { scratch.append(contentsOf: prefix) }
            scratch.append(contentsOf: UnsafeBufferPointer(rebasing: word[index..<end]))
            if end == word.count, let suffix = endOfWordSuffix { scratch.append(contentsOf: suffix) }
            if let id = vocabulary.table.lookup(scratch) {
                if pendingUnknown, let unknownID { merger.appendSymbol(unknownID) }
                pendingUnknown = false
                merger.appendSymbol(UInt32(id))
            } else if byteFallback, scratch.allSatisfy({ byteTokenIDs[Int($0)] != nil }) {
                // HF falls back on the bytes of the symbol it looked up: prefix and suffix included.
                for byte in scratch { merger.appendSymbol(byteTokenIDs[Int(byte)]!) }
            } else if let unknownID {
                if pendingUnknown, !fuseUnknown { merger.appendSymbol(unknownID) }
                pendingUnknown = true
            }
            // (Without an unk_token, HF drops a character it cannot represent at all.)
            index = end
        }
        if pendingUnknown, let unknownID { merger.appendSymbol(unknownID) }
        merger.mergeSymbols(pairs: pairs, into: &output)
    }
}

@inline(__always)
func utf8Length(_ lead: UInt8) -> Int {
    if lead < 0x80 { return 1 }
    if lead < 0xE0 { return 2 }
    if lead < 0xF0 { return 3 }
    return 4
}

/// A WordPiece model of tokenizer.json: greedy longest match first, continuation pieces prefixed (`##`).
struct WordPieceModel: Sendable {
    let vocabulary: ModelVocabulary
    let unknownID: Int32
    let prefix: [UInt8]
    let maxCharacters: Int

    init(_ json: JSONObject) throws {
        vocabulary = try ModelVocabulary(try json.tokenIDs("vocab"), byteLevel: false, path: json.path + ".vocab", file: json.file)
        let unk = json.optionalString("unk_token") ?? "[UNK]"
        guard let id = vocabulary.id(of: unk) else { throw json.error("unk_token \(unk.debugDescription) is not in the vocabulary") }
        unknownID = id
        prefix = Array((json.optionalString("continuing_subword_prefix") ?? "##").utf8)
        maxCharacters = json.optionalInt("max_input_chars_per_word") ?? 100
    }

    func encode(_ word: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        if word.isEmpty { return }
        var boundaries: [Int] = []
        var index = 0
        while index < word.count { boundaries.append(index); index += utf8Length(word[index]) }
        boundaries.append(word.count)
        if boundaries.count - 1 > maxCharacters { output.append(unknownID); return }
        var pieces: [Int32] = []
        var start = 0
        var candidate: [UInt8] = []
        while start < boundaries.count - 1 {
            var end = boundaries.count - 1
            var found: Int32? = nil
            while end > start {
                candidate.removeAll(keepingCapacity: true)
                if start > 0 { candidate.append(contentsOf: prefix) }
                candidate.append(contentsOf: UnsafeBufferPointer(rebasing: word[boundaries[start]..<boundaries[end]]))
                if let id = vocabulary.table.lookup(candidate) { found = id; break }
                end -= 1
            }
            guard let id = found else { output.append(unknownID); return }
            pieces.append(id)
            start = end
        }
        output.append(contentsOf: pieces)
    }
}
