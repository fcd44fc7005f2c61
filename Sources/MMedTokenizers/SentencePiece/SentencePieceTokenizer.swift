// Placeholder until the implementation lands in this file.
public final class SentencePieceTokenizer: Tokenizer {
    public init(modelProto: [UInt8], file: String) throws { throw TokenizerError(.unsupported, file: file, "SentencePieceTokenizer is not implemented yet") }
    public var vocabularySize: Int { 0 }
    public var specialTokens: SpecialTokenIDs { SpecialTokenIDs() }
    public func encode(_ text: String, addSpecialTokens: Bool) -> [Int32] { [] }
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool) throws -> String { "" }
    public func tokenString(for id: Int32) -> String? { nil }
    public func id(forToken token: String) -> Int32? { nil }
}
