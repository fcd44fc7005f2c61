// Placeholder until the implementation lands in this file.
public final class HuggingFaceTokenizer: Tokenizer {
    public init(json: [UInt8], file: String) throws { throw TokenizerError(.unsupported, file: file, "HuggingFaceTokenizer is not implemented yet") }
    public var vocabularySize: Int { 0 }
    public var specialTokens: SpecialTokenIDs { SpecialTokenIDs() }
    public func encode(_ text: String, addSpecialTokens: Bool) -> [Int32] { [] }
    public func decode(_ ids: [Int32], skipSpecialTokens: Bool) throws -> String { "" }
    public func tokenString(for id: Int32) -> String? { nil }
    public func id(forToken token: String) -> Int32? { nil }
}
