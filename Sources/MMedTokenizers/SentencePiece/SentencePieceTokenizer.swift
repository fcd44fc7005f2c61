import Foundation

/// A SentencePiece model (`tokenizer.model` of Llama 2, Mistral, InternLM2, …) that encodes and decodes exactly as
/// the Python `sentencepiece` library (0.2.3) does with `encode(text)` and `decode(ids)`, for BPE, UNIGRAM, WORD and
/// CHAR models, with byte fallback, user-defined and unused pieces, precompiled normalization rules and a
/// denormalizer.
///
/// `encode(_:addSpecialTokens: true)` puts BOS in front, as Hugging Face's `LlamaTokenizer` does; sentencepiece
/// itself adds nothing. No EOS is added.
///
/// The tokenizer is immutable after loading apart from an internal memo of BPE words (`BPEWordCache`), which is
/// invisible in results and handed to one `encode` at a time, so it may be shared between threads.
public final class SentencePieceTokenizer: Tokenizer {
    let modelType: ModelType
    let pieceCount: Int
    /// All piece texts, back to back; piece `i` is `pieceBytes[pieceOffsets[i]..<pieceOffsets[i + 1]]`.
    let pieceBytes: FrozenBuffer<UInt8>
    let pieceOffsets: FrozenBuffer<Int32>
    let scores: FrozenBuffer<Float>
    let types: FrozenBuffer<PieceType>
    /// Piece text → id. For BPE only the reserved pieces (unknown, control, byte): the others are in
    /// `bpe.merges`. For the other models all pieces, the reserved ones taking precedence as in sentencepiece's
    /// `PieceToId`. Use `pieceID(_:_:)` and `segmentationPieceID(_:_:)` rather than this map directly.
    let pieceIDs: ByteStringMap
    /// Non-BPE models only, for the rare text that is both a reserved piece and a normal one: reserved id → the
    /// normal piece's id, which is the one segmentation (`PieceToIdNoReserved`) finds.
    let segmentationIDForReservedID: [Int32: Int32]
    /// The unknown piece's id; -1 when there is none (allowed with byte fallback), which is then the id that
    /// "unknown" lookups give, as in sentencepiece.
    let unknownID: Int32
    let byteFallback: Bool
    /// The id of the piece `<0xXX>` for every byte (unknown where there is none).
    let byteIDs: FrozenBuffer<Int32>
    /// For byte pieces, their byte; meaningless for other pieces.
    let byteValues: FrozenBuffer<UInt8>
    /// `PieceToIdNoReserved` of every one-byte string, so characters left unmerged need no hash lookup.
    let singleByteSegmentationIDs: FrozenBuffer<Int32>
    let normalizer: Normalizer
    let denormalizer: Normalizer?
    let userDefined: UserDefinedMatcher?
    let unknownSurface: [UInt8]
    let decodingStripsDummyPrefix: Bool
    let decodingStripsAllLeadingSpaces: Bool
    let bpe: BPETables?
    /// Memos of BPE segments, one per running `encode` (see `BPEWordCache`).
    let bpeWordCaches = BPEWordCachePool()
    let unigram: UnigramTables?

    public let specialTokens: SpecialTokenIDs
    public var vocabularySize: Int { pieceCount }

    /// Loads a serialized `ModelProto`. A damaged file is `TokenizerError(.malformed)`, and so is a model that
    /// sentencepiece (0.2.3) refuses to load: no unknown piece without byte fallback, duplicate or empty pieces,
    /// byte pieces without byte fallback, NaN scores in a unigram model, an inconsistent charsmap, ….
    public convenience init(modelProto: [UInt8], file: String) throws {
        try self.init(model: ModelProto.parse(modelProto, file: file), file: file)
    }

    init(model: ModelProto, file: String) throws {
        var model = model
        let count = model.pieceCount
        guard count > 0 else { throw TokenizerError(.malformed, file: file, "the model has no pieces") }
        guard count < Int(Int32.max) else { throw TokenizerError(.malformed, file: file, "the model has too many pieces") }
        modelType = model.trainerSpec.modelType
        pieceCount = count
        byteFallback = model.trainerSpec.byteFallback
        func pieceText(_ id: Int) -> ArraySlice<UInt8> {
            model.pieceBytes[Int(model.pieceOffsets[id])..<Int(model.pieceOffsets[id + 1])]
        }
        // sentencepiece's loader turns a piece "\0" into an UNUSED one under byte fallback (some converters add it
        // beside <0x00>).
        if byteFallback {
            for id in 0..<count where model.pieceOffsets[id + 1] - model.pieceOffsets[id] == 1
                && model.pieceBytes[Int(model.pieceOffsets[id])] == 0 {
                model.types[id] = .unused
            }
        }

        // The checks of sentencepiece's ModelInterface::InitializePieces, in its order.
        let isBPE = modelType == .bpe
        var reservedKeys: [ByteStringMap.Key] = [], segmentationKeys: [ByteStringMap.Key] = []
        var userDefinedKeys: [ByteStringMap.Key] = []
        var unknown: Int32 = -1
        var byteValues = [UInt8](repeating: 0, count: count)
        for id in 0..<count {
            let start = model.pieceOffsets[id], end = model.pieceOffsets[id + 1]
            let text = pieceText(id), type = model.types[id]
            guard text.count < 8000 else { throw TokenizerError(.malformed, file: file, "piece \(id) is 8000 bytes or longer") }
            guard !text.isEmpty else { throw TokenizerError(.malformed, file: file, "piece \(id) is empty") }
            // A lone NUL that is UNUSED is ignored altogether; any other NUL is an error.
            if text.count == 1 && text.first == 0 && type == .unused { continue }
            guard !text.contains(0) else { throw TokenizerError(.malformed, file: file, "piece \(id) contains a NUL byte") }
            let key = ByteStringMap.Key(start: start, length: end - start, value: Int32(id))
            if type.takesPartInSegmentation { segmentationKeys.append(key) } else { reservedKeys.append(key) }
            if type == .userDefined { userDefinedKeys.append(key) }
            if type == .unknown {
                guard unknown < 0 else { throw TokenizerError(.malformed, file: file, "pieces \(unknown) and \(id) are both the unknown piece") }
                unknown = Int32(id)
            }
            if type == .byte {
                guard byteFallback else {
                    throw TokenizerError(.malformed, file: file, "byte piece \(id) is present although byte_fallback is off")
                }
                guard let byte = Self.byteOfPiece(text) else {
                    throw TokenizerError(.malformed, file: file, "byte piece \(id) is not of the form <0xXX>")
                }
                byteValues[id] = byte
            }
        }
        guard unknown >= 0 || byteFallback else {
            throw TokenizerError(.malformed, file: file, "the model has no unknown piece")
        }
        unknownID = unknown

        let userDefined = UserDefinedMatcher(pieceBytes: model.pieceBytes, keys: userDefinedKeys)
        self.userDefined = userDefined
        normalizer = try Normalizer(spec: model.normalizerSpec, treatWhitespaceAsSuffix: model.trainerSpec.treatWhitespaceAsSuffix,
                                    userDefined: userDefined, file: file)

        func duplicate(_ first: Int32, _ second: Int32) -> TokenizerError {
            TokenizerError(.malformed, file: file, "pieces \(min(first, second)) and \(max(first, second)) have the same text")
        }
        let pieceIDs: ByteStringMap
        var segmentationIDForReservedID: [Int32: Int32] = [:]
        let bpeTables: BPETables?
        if isBPE {
            // BPE keeps all pieces in one map in sentencepiece, so any repeated text is an error. Here the pieces a
            // merge may produce are in the merge map, and `pieceIDs` holds only the reserved ones.
            guard count < 1 << 24 else {   // BPEMergeMap packs an id into 24 bits
                throw TokenizerError(.unsupported, file: file, "BPE models with more than 2^24 pieces are not supported")
            }
            pieceIDs = ByteStringMap(blob: model.pieceBytes, keys: reservedKeys)
            let tables = BPETables(model: model, segmentationKeys: segmentationKeys, normalizer: normalizer)
            if let index = pieceIDs.duplicateKeys.first {
                let key = reservedKeys[index]
                throw duplicate(model.pieceBytes.withUnsafeBufferPointer { pieceIDs.value($0.baseAddress! + Int(key.start), Int(key.length))! },
                                key.value)
            }
            if let (first, second) = tables.merges.firstDuplicate { throw duplicate(first, second) }
            for key in reservedKeys {
                if let other = model.pieceBytes.withUnsafeBufferPointer({ tables.merges.lookUp($0.baseAddress! + Int(key.start), Int(key.length)) }) {
                    throw duplicate(other.id, key.value)
                }
            }
            bpeTables = tables
        } else {
            // The other models keep reserved and normal pieces apart, and a text may be in both (PieceToId prefers
            // the reserved one, PieceToIdNoReserved the other).
            pieceIDs = ByteStringMap(blob: model.pieceBytes, keys: reservedKeys + segmentationKeys)
            for index in pieceIDs.duplicateKeys {
                let key = index < reservedKeys.count ? reservedKeys[index] : segmentationKeys[index - reservedKeys.count]
                let first = model.pieceBytes.withUnsafeBufferPointer { pieceIDs.value($0.baseAddress! + Int(key.start), Int(key.length))! }
                let sameGroup = model.types[Int(first)].takesPartInSegmentation == model.types[Int(key.value)].takesPartInSegmentation
                guard !sameGroup, segmentationIDForReservedID[first] == nil else { throw duplicate(first, key.value) }
                segmentationIDForReservedID[first] = key.value
            }
            bpeTables = nil
        }
        self.pieceIDs = pieceIDs
        self.segmentationIDForReservedID = segmentationIDForReservedID
        bpe = bpeTables

        /// PieceToId without the unknown fallback.
        func lookUp(_ text: [UInt8]) -> Int32? {
            text.withUnsafeBufferPointer { text in
                if let id = bpeTables?.merges.lookUp(text.baseAddress!, text.count)?.id { return id }
                return pieceIDs.value(text.baseAddress!, text.count)
            }
        }
        var byteIDs = [Int32](repeating: unknown, count: 256)
        if byteFallback {
            let hexDigits = Array("0123456789ABCDEF".utf8)
            for byte in 0..<256 {
                let name: [UInt8] = Array("<0x".utf8) + [hexDigits[byte >> 4], hexDigits[byte & 15], UInt8(ascii: ">")]
                guard let id = lookUp(name), model.types[Int(id)] == .byte else {
                    throw TokenizerError(.malformed, file: file, "byte_fallback is on but there is no byte piece \(String(decoding: name, as: UTF8.self))")
                }
                byteIDs[byte] = id
            }
        }
        if modelType == .unigram {
            // sentencepiece's unigram model refuses non-finite scores (of any piece).
            if let id = model.scores.firstIndex(where: { !$0.isFinite }) {
                throw TokenizerError(.malformed, file: file, "piece \(id) has a score that is not finite")
            }
            guard !segmentationKeys.isEmpty else {
                throw TokenizerError(.malformed, file: file, "the unigram model has no normal pieces")
            }
        }

        pieceBytes = FrozenBuffer(model.pieceBytes)
        pieceOffsets = FrozenBuffer(model.pieceOffsets)
        scores = FrozenBuffer(model.scores)
        types = FrozenBuffer(model.types)
        self.byteIDs = FrozenBuffer(byteIDs)
        self.byteValues = FrozenBuffer(byteValues)
        var singleByteIDs = [Int32](repeating: unknown, count: 256)
        for byte in 0..<256 {
            singleByteIDs[byte] = Self.segmentationID(of: lookUp([UInt8(byte)]), types: model.types, isBPE: isBPE,
                                                      shadowed: segmentationIDForReservedID) ?? unknown
        }
        singleByteSegmentationIDs = FrozenBuffer(singleByteIDs)

        if let spec = model.denormalizerSpec, !spec.precompiledCharsMap.isEmpty {
            denormalizer = try Normalizer(spec: spec, treatWhitespaceAsSuffix: false, userDefined: nil, file: file)
        } else {
            denormalizer = nil
        }
        unknownSurface = model.trainerSpec.unknownSurface
        decodingStripsDummyPrefix = model.normalizerSpec.addDummyPrefix || model.normalizerSpec.removeExtraWhitespaces
        decodingStripsAllLeadingSpaces = model.normalizerSpec.removeExtraWhitespaces

        unigram = modelType == .unigram ? UnigramTables(model: model, segmentationKeys: segmentationKeys) : nil

        // As sentencepiece's bos_id() etc.: the piece named in the trainer spec, if it has the expected type.
        func specialID(_ text: [UInt8], default defaultText: String, type: PieceType) -> Int32? {
            let id = lookUp(text.isEmpty ? Array(defaultText.utf8) : text) ?? unknown
            return id >= 0 && model.types[Int(id)] == type ? id : nil
        }
        specialTokens = SpecialTokenIDs(
            bos: specialID(model.trainerSpec.bosPiece, default: "<s>", type: .control),
            eos: specialID(model.trainerSpec.eosPiece, default: "</s>", type: .control),
            pad: specialID(model.trainerSpec.padPiece, default: "<pad>", type: .control),
            unk: specialID(model.trainerSpec.unknownPiece, default: "<unk>", type: .unknown))
    }

    /// The byte of a piece `<0xXX>` (two upper-case hex digits, as sentencepiece writes them).
    static func byteOfPiece(_ text: ArraySlice<UInt8>) -> UInt8? {
        let bytes = Array(text)
        guard bytes.count == 6, bytes[0] == UInt8(ascii: "<"), bytes[1] == UInt8(ascii: "0"), bytes[2] == UInt8(ascii: "x"),
              bytes[5] == UInt8(ascii: ">") else { return nil }
        func digit(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
            default: return nil
            }
        }
        guard let high = digit(bytes[3]), let low = digit(bytes[4]) else { return nil }
        return high << 4 | low
    }

    /// sentencepiece's `PieceToIdNoReserved` given what the piece map found: the id among normal, user-defined and
    /// unused pieces (for BPE, among all pieces), or nil.
    @inline(__always)
    private static func segmentationID(of found: Int32?, types: [PieceType], isBPE: Bool, shadowed: [Int32: Int32]) -> Int32? {
        guard let found else { return nil }
        if isBPE || types[Int(found)].takesPartInSegmentation { return found }
        return shadowed[found]
    }

    // MARK: - Lookups

    @inline(__always)
    func pieceStart(_ id: Int32) -> Int { Int(pieceOffsets.pointer[Int(id)]) }
    @inline(__always)
    func pieceLength(_ id: Int32) -> Int { Int(pieceOffsets.pointer[Int(id) + 1] - pieceOffsets.pointer[Int(id)]) }

    /// sentencepiece's `PieceToId` without its unknown fallback: the piece with this text, if any.
    @inline(__always)
    func pieceID(_ pointer: UnsafePointer<UInt8>, _ length: Int) -> Int32? {
        if let bpe, let id = bpe.merges.lookUp(pointer, length)?.id { return id }
        return pieceIDs.value(pointer, length)
    }

    /// sentencepiece's `PieceToIdNoReserved`, which its models use on their output: the id among the pieces that
    /// take part in segmentation (for BPE, among all pieces), else the unknown id.
    @inline(__always)
    func segmentationPieceID(_ pointer: UnsafePointer<UInt8>, _ length: Int) -> Int32 {
        if length == 1 { return singleByteSegmentationIDs.pointer[Int(pointer[0])] }
        if bpe != nil { return pieceID(pointer, length) ?? unknownID }
        guard let found = pieceIDs.value(pointer, length) else { return unknownID }
        if types.pointer[Int(found)].takesPartInSegmentation { return found }
        return segmentationIDForReservedID[found] ?? unknownID
    }

    public func tokenString(for id: Int32) -> String? {
        guard id >= 0, Int(id) < pieceCount else { return nil }
        return String(decoding: UnsafeBufferPointer(start: pieceBytes.pointer + pieceStart(id), count: pieceLength(id)),
                      as: UTF8.self)
    }

    public func id(forToken token: String) -> Int32? {
        var token = token
        return token.withUTF8 { bytes in
            guard let base = bytes.baseAddress, !bytes.isEmpty else { return nil }
            return pieceID(base, bytes.count)
        }
    }

    // MARK: - Encoding

    /// Turns the model's pieces into ids as sentencepiece's `EncodeOptimized` does: an unknown piece becomes one
    /// byte piece per UTF-8 byte under byte fallback; otherwise a run of unknown pieces becomes a single unknown id.
    /// (The models emit the unknown piece's id, or -1 when the model has none, for anything unknown.)
    struct PieceEmitter {
        /// Where the ids go: room for one id per normalized byte plus BOS, which no model exceeds (every piece has
        /// at least one byte, and byte fallback gives one id per byte).
        let output: UnsafeMutablePointer<Int32>
        let capacity: Int
        var count = 0
        var previousWasUnknown = false
        let unknownID: Int32
        let byteFallback: Bool
        let byteIDs: UnsafePointer<Int32>

        @inline(__always)
        mutating func append(_ id: Int32) {
            precondition(count < capacity, "SentencePiece produced more ids than normalized bytes")
            output[count] = id
            count += 1
        }

        @inline(__always)
        mutating func emit(_ piece: UnsafePointer<UInt8>, _ length: Int, id: Int32) {
            if id == unknownID {
                if byteFallback {
                    for index in 0..<length { append(byteIDs[Int(piece[index])]) }
                } else if !previousWasUnknown {
                    append(id)
                }
                previousWasUnknown = true
            } else {
                append(id)
                previousWasUnknown = false
            }
        }
    }

    public func encode(_ text: String, addSpecialTokens: Bool) -> [Int32] {
        var text = text
        return text.withUTF8 { input in
            let normalized = normalizer.normalize(input)
            let bos = addSpecialTokens ? specialTokens.bos : nil
            let capacity = normalized.count + 1
            return [Int32](unsafeUninitializedCapacity: capacity) { buffer, initializedCount in
                var emitter = PieceEmitter(output: buffer.baseAddress!, capacity: capacity, unknownID: unknownID,
                                           byteFallback: byteFallback, byteIDs: byteIDs.pointer)
                if let bos { emitter.append(bos) }
                if !normalized.isEmpty {
                    normalized.withUnsafeBufferPointer { normalized in
                        switch modelType {
                        case .bpe: encodeBPE(normalized, into: &emitter)
                        case .unigram: encodeUnigram(normalized, into: &emitter)
                        case .char: encodeCharacters(normalized, into: &emitter)
                        case .word: encodeWords(normalized, into: &emitter)
                        }
                    }
                }
                initializedCount = emitter.count
            }
        }
    }

    /// What the CHAR and WORD models emit for a piece: its id among the segmentation pieces, unknown for UNUSED ones.
    @inline(__always)
    private func characterOrWordID(_ pointer: UnsafePointer<UInt8>, _ length: Int) -> Int32 {
        let id = segmentationPieceID(pointer, length)
        return id != unknownID && types.pointer[Int(id)] == .unused ? unknownID : id
    }

    /// CHAR model: every character (or user-defined piece) is a piece.
    private func encodeCharacters(_ text: UnsafeBufferPointer<UInt8>, into emitter: inout PieceEmitter) {
        let base = text.baseAddress!
        var position = 0
        while position < text.count {
            let available = text.count - position
            let length = userDefined?.longestMatch(base + position, available)
                ?? min(Self.characterLength(lead: base[position]), available)
            emitter.emit(base + position, length, id: characterOrWordID(base + position, length))
            position += length
        }
    }

    /// WORD model: a word starts at the beginning and at every "▁" (sentencepiece's `SplitIntoWords`).
    private func encodeWords(_ text: UnsafeBufferPointer<UInt8>, into emitter: inout PieceEmitter) {
        let base = text.baseAddress!
        var wordStart = 0, position = 0
        while position < text.count {
            let length = min(Self.characterLength(lead: base[position]), text.count - position)
            if position > wordStart && Self.isSpaceSymbol(base + position, text.count - position) {
                emitter.emit(base + wordStart, position - wordStart, id: characterOrWordID(base + wordStart, position - wordStart))
                wordStart = position
            }
            position += length
        }
        emitter.emit(base + wordStart, text.count - wordStart, id: characterOrWordID(base + wordStart, text.count - wordStart))
    }

    @inline(__always)
    static func isSpaceSymbol(_ pointer: UnsafePointer<UInt8>, _ available: Int) -> Bool {
        available >= 3 && pointer[0] == spaceSymbol.0 && pointer[1] == spaceSymbol.1 && pointer[2] == spaceSymbol.2
    }

    // MARK: - Decoding

    /// Decodes as sentencepiece's `decode` (`DecodeOptimized`): pieces are concatenated with "▁" as a space, the
    /// dummy-prefix space is dropped from the first piece, runs of byte pieces are read as UTF-8 (each byte that is
    /// not part of a valid character becomes U+FFFD), control pieces are empty and the unknown piece is
    /// `unk_surface` (" ⁇ ").
    /// With `skipSpecialTokens`, control pieces (BOS, EOS, PAD, …) are removed before decoding, so byte pieces on
    /// either side of one join up.
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool) throws -> String {
        var output: [UInt8] = []
        output.reserveCapacity(ids.count * 4)
        var pendingBytes: [UInt8] = []
        // Whether the next piece may still lose a leading "▁" (the dummy prefix).
        var mayStripDummyPrefix = true
        let base = pieceBytes.pointer
        for id in ids {
            guard id >= 0, Int(id) < pieceCount else {
                throw TokenizerError(.unknownID, "id \(id) is outside the vocabulary of \(pieceCount) pieces")
            }
            let type = types.pointer[Int(id)]
            if skipSpecialTokens && type == .control { continue }
            if type == .byte {
                pendingBytes.append(byteValues.pointer[Int(id)])
                continue
            }
            Self.appendBytePieces(&pendingBytes, to: &output)
            if !output.isEmpty { mayStripDummyPrefix = false }
            if type == .control { continue }
            var start = base + pieceStart(id), length = pieceLength(id)
            var strippedDummyPrefix = false
            if mayStripDummyPrefix && decodingStripsDummyPrefix && Self.isSpaceSymbol(start, length) {
                start += 3
                length -= 3
                // With remove_extra_whitespaces every leading space goes, so the next piece may strip one too.
                strippedDummyPrefix = !decodingStripsAllLeadingSpaces
            }
            if type == .unknown {
                output.append(contentsOf: unknownSurface)
            } else {
                var index = 0
                while index < length {
                    if Self.isSpaceSymbol(start + index, length - index) {
                        output.append(0x20)
                        index += 3
                    } else {
                        output.append(start[index])
                        index += 1
                    }
                }
            }
            if strippedDummyPrefix || !output.isEmpty { mayStripDummyPrefix = false }
        }
        Self.appendBytePieces(&pendingBytes, to: &output)
        if let denormalizer {
            output = output.withUnsafeBufferPointer { denormalizer.normalize($0) }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Appends a run of byte pieces' bytes: valid UTF-8 characters as they are, every other byte as U+FFFD.
    private static func appendBytePieces(_ bytes: inout [UInt8], to output: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBufferPointer { buffer in
            let base = buffer.baseAddress!
            var index = 0
            while index < buffer.count {
                if let length = validUTF8Length(base + index, buffer.count - index) {
                    output.append(contentsOf: UnsafeBufferPointer(start: base + index, count: length))
                    index += length
                } else {
                    output.append(contentsOf: [0xEF, 0xBF, 0xBD])
                    index += 1
                }
            }
        }
        bytes.removeAll(keepingCapacity: true)
    }
}
