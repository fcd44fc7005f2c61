import MMedCorpus

/// Document and token counts for one slice of a run (a language, an input, a unit, or all of it). Every document
/// read is tokenized or rejected: `documentsRead == documentsTokenized + documentsRejected`.
public struct PretrainTally: Codable, Sendable, Equatable {
    public var documentsRead = 0
    public var documentsTokenized = 0
    public var documentsRejected = 0
    /// UTF-8 bytes of the tokenized documents' text.
    public var textBytes: Int64 = 0
    /// Ids the tokenizer produced for the tokenized documents, with the special tokens it added (BOS) and the EOS
    /// appended to each document.
    public var tokens: Int64 = 0
    /// Sequences written (windows in window mode).
    public var sequences: Int64 = 0
    /// Tokens written, padding included (overlapping windows repeat tokens).
    public var sequenceTokens: Int64 = 0
    /// Pad ids written.
    public var paddingTokens: Int64 = 0

    public init() {}

    /// Padding tokens over tokens written.
    public var paddingShare: Double { sequenceTokens == 0 ? 0 : Double(paddingTokens) / Double(sequenceTokens) }

    public var isBalanced: Bool { documentsRead == documentsTokenized + documentsRejected }

    public mutating func add(_ other: PretrainTally) {
        documentsRead += other.documentsRead
        documentsTokenized += other.documentsTokenized
        documentsRejected += other.documentsRejected
        textBytes += other.textBytes
        tokens += other.tokens
        sequences += other.sequences
        sequenceTokens += other.sequenceTokens
        paddingTokens += other.paddingTokens
    }

    enum CodingKeys: String, CodingKey {
        case documentsRead = "documents_read", documentsTokenized = "documents_tokenized", documentsRejected = "documents_rejected"
        case textBytes = "text_bytes", tokens, sequences, sequenceTokens = "sequence_tokens", paddingTokens = "padding_tokens"
        case paddingShare = "padding_share"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        documentsRead = try container.decode(Int.self, forKey: .documentsRead)
        documentsTokenized = try container.decode(Int.self, forKey: .documentsTokenized)
        documentsRejected = try container.decode(Int.self, forKey: .documentsRejected)
        textBytes = try container.decode(Int64.self, forKey: .textBytes)
        tokens = try container.decode(Int64.self, forKey: .tokens)
        sequences = try container.decode(Int64.self, forKey: .sequences)
        sequenceTokens = try container.decode(Int64.self, forKey: .sequenceTokens)
        paddingTokens = try container.decode(Int64.self, forKey: .paddingTokens)
    }

    /// Encodes the counts and, for readers, the padding share (rounded to 6 decimals; not read back).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(documentsRead, forKey: .documentsRead)
        try container.encode(documentsTokenized, forKey: .documentsTokenized)
        try container.encode(documentsRejected, forKey: .documentsRejected)
        try container.encode(textBytes, forKey: .textBytes)
        try container.encode(tokens, forKey: .tokens)
        try container.encode(sequences, forKey: .sequences)
        try container.encode(sequenceTokens, forKey: .sequenceTokens)
        try container.encode(paddingTokens, forKey: .paddingTokens)
        try container.encode((paddingShare * 1e6).rounded() / 1e6, forKey: .paddingShare)
    }
}

extension PretrainTally: UnitCounts {}

/// What one finished pretrain unit reports (npy windows are listed in its npy index part, not in `outputs`).
public typealias PretrainUnitReport = WorkUnitReport<PretrainTally>
