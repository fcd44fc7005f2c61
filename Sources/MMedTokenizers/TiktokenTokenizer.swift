/// A tiktoken rank file (one `base64-token rank` per line), as Meta ships Llama 3's `tokenizer.model`. The file
/// holds neither the split pattern nor the special tokens; they are those of the known vocabularies: Llama 3
/// (128,000 ranks, then the 256 special tokens of meta-llama/llama-models' `models/llama3/tokenizer.py`, where the file
/// comes from) and cl100k_base (100,256 ranks).
///
/// Encoding follows tiktoken's core (`encode` with `disallowed_special=()`, as Meta's `Tokenizer.encode` calls it):
/// special-token text in the input is ordinary text. `addSpecialTokens` prepends BOS, as HF `encode` does.
public final class TiktokenTokenizer: Tokenizer {
    let table: TokenTable
    let pattern: SplitPattern
    let byteIDs: [UInt32]
    /// tiktoken merges two symbols when their concatenation is a token, whose rank is its id. Every such pair is
    /// listed here once at load (each token under each split into two tokens), so merging looks up a pair of ids
    /// instead of hashing byte strings.
    let pairs: PairTable
    let specialNames: [String]
    let firstSpecialID: Int
    public let specialTokens: SpecialTokenIDs
    public var vocabularySize: Int { firstSpecialID + specialNames.count }

    public init(rankFile: [UInt8], file: String) throws {
        var tokens: [[UInt8]?] = []
        tokens.reserveCapacity(rankFile.count / 14)
        var line = 1, index = 0
        let count = rankFile.count
        try rankFile.withUnsafeBufferPointer { bytes in
            while index < count {
                var end = index
                while end < count, bytes[end] != 0x0A { end += 1 }
                var lineEnd = end
                if lineEnd > index, bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                if lineEnd > index {
                    var space = index
                    while space < lineEnd, bytes[space] != 0x20 { space += 1 }
                    guard space < lineEnd, let token = decodeBase64(UnsafeBufferPointer(rebasing: bytes[index..<space])) else {
                        throw TokenizerError(.malformed, file: file, "line \(line): expected \"<base64 token> <rank>\"")
                    }
                    var rank = 0
                    var digit = space + 1
                    guard digit < lineEnd else { throw TokenizerError(.malformed, file: file, "line \(line): missing rank") }
                    while digit < lineEnd {
                        let value = Int(bytes[digit]) - 48
                        guard value >= 0, value <= 9, rank < 1 << 40 else {
                            throw TokenizerError(.malformed, file: file, "line \(line): the rank is not a number")
                        }
                        rank = rank * 10 + value
                        digit += 1
                    }
                    guard rank == tokens.count else {
                        throw TokenizerError(.malformed, file: file, "line \(line): rank \(rank) out of order (expected \(tokens.count))")
                    }
                    tokens.append(token)
                }
                index = end + 1
                line += 1
            }
        }
        switch tokens.count {
        case 128_000:
            let named = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|reserved_special_token_1|>",
                         "<|finetune_right_pad_id|>", "<|step_id|>", "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>",
                         "<|eot_id|>", "<|python_tag|>", "<|image|>"]
            specialNames = named + (0..<(256 - named.count)).map { "<|reserved_special_token_\($0 + 2)|>" }
            specialTokens = SpecialTokenIDs(bos: 128_000, eos: 128_001)
        case 100_256:
            specialNames = ["<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>"]
            specialTokens = SpecialTokenIDs(eos: 100_257)
        default:
            throw TokenizerError(.unsupported, file: file,
                                 "a tiktoken file of \(tokens.count) ranks: only Llama 3's (128,000) and cl100k_base's (100,256) are known (the file holds neither the split pattern nor the special tokens)")
        }
        firstSpecialID = tokens.count
        pattern = .cl100k
        table = TokenTable(tokens: tokens, count: tokens.count)
        var byteIDs = [UInt32](repeating: 0, count: 256)
        for byte in 0..<256 {
            guard let id = table.lookup([UInt8(byte)]) else {
                throw TokenizerError(.malformed, file: file, "no token for the single byte \(byte)")
            }
            byteIDs[byte] = UInt32(id)
        }
        self.byteIDs = byteIDs
        pairs = TiktokenTokenizer.pairsOfConcatenation(table)
    }

    static func pairsOfConcatenation(_ table: TokenTable) -> PairTable {
        var found: [(left: UInt32, right: UInt32, id: UInt32)] = []
        found.reserveCapacity(table.count * 3)
        table.storage.withUnsafeBufferPointer { all in
            for id in 0..<table.count {
                let start = Int(table.offsets[id]), end = Int(table.offsets[id + 1])
                guard end - start >= 2 else { continue }
                for split in (start + 1)..<end {
                    guard let left = table.lookup(UnsafeBufferPointer(rebasing: all[start..<split])),
                          let right = table.lookup(UnsafeBufferPointer(rebasing: all[split..<end])) else { continue }
                    found.append((UInt32(left), UInt32(right), UInt32(id)))
                }
            }
        }
        var pairs = PairTable(count: found.count)
        for pair in found { pairs.insert(left: pair.left, right: pair.right, rank: pair.id, merged: pair.id) }
        return pairs
    }

    public func encode(_ text: String, addSpecialTokens: Bool) -> [Int32] {
        var output: [Int32] = []
        output.reserveCapacity(text.utf8.count / 4 + 2)
        if addSpecialTokens, let bos = specialTokens.bos { output.append(bos) }
        var text = text
        text.withUTF8 { bytes in encodeOrdinary(bytes, into: &output) }
        return output
    }

    /// Encodes UTF-8 bytes as ordinary text (no special tokens), appending to `output`.
    func encodeOrdinary(_ bytes: UnsafeBufferPointer<UInt8>, into output: inout [Int32]) {
        var merger = BytePairMerger()
        let table = self.table
        byteIDs.withUnsafeBufferPointer { byteIDs in
            pattern.forEachPiece(bytes) { start, end in
                let piece = UnsafeBufferPointer(rebasing: bytes[start..<end])
                if let id = table.lookup(piece) {
                    output.append(id)
                } else {
                    merger.mergeBytes(piece, byteIDs: byteIDs, pairs: pairs, into: &output)
                }
            }
        }
    }

    public func decode(_ ids: [Int32], skipSpecialTokens: Bool) throws -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids {
            let value = Int(id)
            if value >= 0, value < firstSpecialID {
                bytes.append(contentsOf: table.bytes(of: value))
            } else if value >= firstSpecialID, value < vocabularySize {
                if !skipSpecialTokens { bytes.append(contentsOf: Array(specialNames[value - firstSpecialID].utf8)) }
            } else {
                throw TokenizerError(.unknownID, "id \(id) is outside the vocabulary (0..<\(vocabularySize))")
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public func tokenString(for id: Int32) -> String? {
        let value = Int(id)
        if value >= 0, value < firstSpecialID { return String(decoding: table.bytes(of: value), as: UTF8.self) }
        if value >= firstSpecialID, value < vocabularySize { return specialNames[value - firstSpecialID] }
        return nil
    }

    public func id(forToken token: String) -> Int32? {
        if let index = specialNames.firstIndex(of: token) { return Int32(firstSpecialID + index) }
        return table.lookup(Array(token.utf8))
    }
}

private let base64Values: [UInt8] = {
    var values = [UInt8](repeating: 0xFF, count: 256)
    for (index, character) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
        values[Int(character)] = UInt8(index)
    }
    return values
}()

/// Standard base64 with `=` padding; nil if malformed.
func decodeBase64(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
    var output: [UInt8] = []
    output.reserveCapacity(text.count * 3 / 4)
    var buffer: UInt32 = 0, bits = 0
    for character in text {
        if character == UInt8(ascii: "=") { break }
        let value = base64Values[Int(character)]
        if value == 0xFF { return nil }
        buffer = buffer << 6 | UInt32(value)
        bits += 6
        if bits >= 8 {
            bits -= 8
            output.append(UInt8(truncatingIfNeeded: buffer >> UInt32(bits)))
        }
    }
    return output
}
