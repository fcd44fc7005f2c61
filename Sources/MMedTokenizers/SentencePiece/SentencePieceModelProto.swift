// Reads SentencePiece's `ModelProto` (src/sentencepiece_model.proto in google/sentencepiece) without a protobuf
// library: only the fields that change encoding or decoding are kept, every other field of any wire type is skipped.

extension SentencePieceTokenizer {
    /// The `ModelProto.SentencePiece.Type` enum, with the proto's numbers.
    enum PieceType: UInt8, Sendable {
        case normal = 1
        case unknown = 2
        case control = 3
        case userDefined = 4
        case unused = 5
        case byte = 6

        /// Types that sentencepiece keeps in its merge/lattice map (`pieces_`); the others are "reserved" and reachable
        /// only through an exact piece lookup.
        @inline(__always)
        var takesPartInSegmentation: Bool { self == .normal || self == .userDefined || self == .unused }
    }

    /// `TrainerSpec.ModelType`.
    enum ModelType: Int, Sendable {
        case unigram = 1
        case bpe = 2
        case word = 3
        case char = 4
    }

    /// The `TrainerSpec` fields that matter after training, with the proto's defaults.
    struct TrainerSpec: Sendable {
        var modelType: ModelType = .unigram
        var byteFallback = false
        var treatWhitespaceAsSuffix = false
        /// `unk_surface` (field 44): what decoding writes for the unknown piece.
        var unknownSurface: [UInt8] = Array(" \u{2047} ".utf8)
        // The special pieces are looked up by their text, as sentencepiece's `bos_id()` etc. do; an empty string
        // means the default.
        var unknownPiece: [UInt8] = []
        var bosPiece: [UInt8] = []
        var eosPiece: [UInt8] = []
        var padPiece: [UInt8] = []
    }

    /// `NormalizerSpec`, with the proto's defaults.
    struct NormalizerSpec: Sendable {
        var name: String = ""
        var precompiledCharsMap: [UInt8] = []
        var addDummyPrefix = true
        var removeExtraWhitespaces = true
        var escapeWhitespaces = true
    }

    /// The parsed model. Piece texts are kept in one byte blob (`pieceBytes[pieceOffsets[i]..<pieceOffsets[i+1]]`),
    /// so that a 32k-piece vocabulary costs a handful of allocations.
    struct ModelProto: Sendable {
        var pieceBytes: [UInt8] = []
        var pieceOffsets: [Int32] = [0]
        var scores: [Float] = []
        var types: [PieceType] = []
        var trainerSpec = TrainerSpec()
        var normalizerSpec = NormalizerSpec()
        var denormalizerSpec: NormalizerSpec?

        var pieceCount: Int { scores.count }

        /// Parses a serialized `ModelProto`. Damage (truncation, a bad varint, a bad wire type) is a
        /// `TokenizerError(.malformed)` naming the byte offset; it never traps.
        static func parse(_ bytes: [UInt8], file: String) throws -> ModelProto {
            try bytes.withUnsafeBufferPointer { buffer in
                var model = ModelProto()
                // A piece takes ~15 bytes of the file (text ~7, score 5, framing); reserving avoids regrowth.
                let estimatedPieces = buffer.count / 12 + 16
                model.pieceBytes.reserveCapacity(buffer.count / 2)
                model.pieceOffsets.reserveCapacity(estimatedPieces + 1)
                model.scores.reserveCapacity(estimatedPieces)
                model.types.reserveCapacity(estimatedPieces)
                var reader = ProtobufReader(buffer: buffer, range: 0..<buffer.count, file: file)
                while let (field, wireType) = try reader.nextTag() {
                    switch (field, wireType) {
                    case (1, .lengthDelimited):
                        try model.appendPiece(reader.subReader())
                    case (2, .lengthDelimited):
                        try model.trainerSpec.merge(reader.subReader())
                    case (3, .lengthDelimited):
                        try model.normalizerSpec.merge(reader.subReader())
                    case (5, .lengthDelimited):
                        // Repeated occurrences of a singular message merge, as protobuf specifies.
                        var spec = model.denormalizerSpec ?? NormalizerSpec()
                        try spec.merge(reader.subReader())
                        model.denormalizerSpec = spec
                    default:
                        try reader.skip(wireType, field: field)
                    }
                }
                return model
            }
        }

        private mutating func appendPiece(_ reader: ProtobufReader) throws {
            var reader = reader
            var piece: Range<Int>? = nil
            var score: Float = 0
            var type = PieceType.normal
            while let (field, wireType) = try reader.nextTag() {
                switch (field, wireType) {
                case (1, .lengthDelimited): piece = try reader.readLengthDelimited()
                case (2, .fixed32): score = Float(bitPattern: try reader.readFixed32())
                case (3, .varint):
                    // proto2 keeps an enum value it does not know as an unknown field, leaving the default (NORMAL).
                    let raw = try reader.readVarint()
                    if raw <= 6, let known = PieceType(rawValue: UInt8(raw)) { type = known }
                default: try reader.skip(wireType, field: field)
                }
            }
            if let piece { pieceBytes.append(contentsOf: UnsafeBufferPointer(rebasing: reader.buffer[piece])) }
            guard pieceBytes.count <= Int(Int32.max) else {
                throw TokenizerError(.malformed, file: reader.file, "the pieces hold more than 2 GiB of text")
            }
            pieceOffsets.append(Int32(pieceBytes.count))
            scores.append(score)
            types.append(type)
        }
    }
}

extension SentencePieceTokenizer.TrainerSpec {
    fileprivate mutating func merge(_ reader: SentencePieceTokenizer.ProtobufReader) throws {
        var reader = reader
        while let (field, wireType) = try reader.nextTag() {
            switch (field, wireType) {
            case (3, .varint):
                let raw = try reader.readVarint()
                // An unknown enum value leaves the default, as in proto2.
                if raw <= 4, let type = SentencePieceTokenizer.ModelType(rawValue: Int(raw)) { modelType = type }
            case (24, .varint): treatWhitespaceAsSuffix = try reader.readVarint() != 0
            case (35, .varint): byteFallback = try reader.readVarint() != 0
            case (44, .lengthDelimited): unknownSurface = Array(reader.buffer[try reader.readLengthDelimited()])
            case (45, .lengthDelimited): unknownPiece = Array(reader.buffer[try reader.readLengthDelimited()])
            case (46, .lengthDelimited): bosPiece = Array(reader.buffer[try reader.readLengthDelimited()])
            case (47, .lengthDelimited): eosPiece = Array(reader.buffer[try reader.readLengthDelimited()])
            case (48, .lengthDelimited): padPiece = Array(reader.buffer[try reader.readLengthDelimited()])
            default: try reader.skip(wireType, field: field)
            }
        }
    }
}

extension SentencePieceTokenizer.NormalizerSpec {
    fileprivate mutating func merge(_ reader: SentencePieceTokenizer.ProtobufReader) throws {
        var reader = reader
        while let (field, wireType) = try reader.nextTag() {
            switch (field, wireType) {
            case (1, .lengthDelimited):
                name = String(decoding: reader.buffer[try reader.readLengthDelimited()], as: UTF8.self)
            case (2, .lengthDelimited): precompiledCharsMap = Array(reader.buffer[try reader.readLengthDelimited()])
            case (3, .varint): addDummyPrefix = try reader.readVarint() != 0
            case (4, .varint): removeExtraWhitespaces = try reader.readVarint() != 0
            case (5, .varint): escapeWhitespaces = try reader.readVarint() != 0
            default: try reader.skip(wireType, field: field)
            }
        }
    }
}

extension SentencePieceTokenizer {
    /// Protobuf wire types (the low three bits of a tag).
    enum WireType: UInt8 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case startGroup = 3
        case endGroup = 4
        case fixed32 = 5
    }

    /// A cursor over one message's bytes. Offsets are absolute in the file, so errors can name where the damage is.
    struct ProtobufReader {
        let buffer: UnsafeBufferPointer<UInt8>
        private(set) var position: Int
        /// Where the last tag read by `nextTag` starts.
        private var tagOffset = 0
        let end: Int
        let file: String

        init(buffer: UnsafeBufferPointer<UInt8>, range: Range<Int>, file: String) {
            self.buffer = buffer; self.position = range.lowerBound; self.end = range.upperBound; self.file = file
        }

        private func malformed(_ message: String, at offset: Int) -> TokenizerError {
            TokenizerError(.malformed, file: file, "not a valid SentencePiece model: \(message) at byte offset \(offset)")
        }

        /// The next field's number and wire type, or nil at the end of the message.
        mutating func nextTag() throws -> (UInt32, WireType)? {
            guard position < end else { return nil }
            tagOffset = position
            let tag = try readVarint()
            guard tag >> 3 != 0, tag >> 3 <= UInt64(UInt32.max >> 3) else {
                throw malformed("field number \(tag >> 3) is out of range", at: tagOffset)
            }
            guard let wireType = WireType(rawValue: UInt8(tag & 7)) else {
                throw malformed("wire type \(tag & 7) does not exist", at: tagOffset)
            }
            return (UInt32(tag >> 3), wireType)
        }

        mutating func readVarint() throws -> UInt64 {
            let start = position
            var result: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard position < end else { throw malformed("the message ends inside a varint", at: start) }
                let byte = buffer[position]
                position += 1
                // Ten bytes carry 64 bits; an eleventh is never valid.
                guard shift < 64 else { throw malformed("a varint is longer than ten bytes", at: start) }
                result |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return result }
                shift += 7
            }
        }

        mutating func readFixed32() throws -> UInt32 {
            guard end - position >= 4 else { throw malformed("the message ends inside a 32-bit field", at: position) }
            let value = UInt32(buffer[position]) | UInt32(buffer[position + 1]) << 8
                | UInt32(buffer[position + 2]) << 16 | UInt32(buffer[position + 3]) << 24
            position += 4
            return value
        }

        /// The payload range of a length-delimited field; the cursor moves past it.
        mutating func readLengthDelimited() throws -> Range<Int> {
            let lengthOffset = position
            let length = try readVarint()
            guard length <= UInt64(end - position) else {
                throw malformed("a field of \(length) bytes runs past the end of its message", at: lengthOffset)
            }
            let range = position..<(position + Int(length))
            position = range.upperBound
            return range
        }

        /// A reader over the next length-delimited field (an embedded message).
        mutating func subReader() throws -> ProtobufReader {
            ProtobufReader(buffer: buffer, range: try readLengthDelimited(), file: file)
        }

        /// Skips a field this reader does not use. Groups (deprecated, but legal) are skipped up to their matching end;
        /// nesting deeper than protobuf's own limit (100) is refused rather than recursed into.
        mutating func skip(_ wireType: WireType, field: UInt32, depth: Int = 0) throws {
            switch wireType {
            case .varint: _ = try readVarint()
            case .fixed64:
                guard end - position >= 8 else { throw malformed("the message ends inside a 64-bit field", at: position) }
                position += 8
            case .lengthDelimited: _ = try readLengthDelimited()
            case .fixed32: _ = try readFixed32()
            case .startGroup:
                let groupOffset = position
                guard depth < 100 else { throw malformed("groups nest more than 100 deep", at: groupOffset) }
                while true {
                    guard let (innerField, innerType) = try nextTag() else {
                        throw malformed("group \(field) has no end", at: groupOffset)
                    }
                    if innerType == .endGroup {
                        guard innerField == field else { throw malformed("group \(field) ends as \(innerField)", at: tagOffset) }
                        return
                    }
                    try skip(innerType, field: innerField, depth: depth + 1)
                }
            case .endGroup:
                throw malformed("an end-group tag without a group", at: tagOffset)
            }
        }
    }
}
