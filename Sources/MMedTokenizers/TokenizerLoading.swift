import Foundation

/// The tokenizer file formats this library reads.
public enum TokenizerFormat: String, Sendable, Codable {
    /// Hugging Face `tokenizer.json`.
    case huggingFace = "tokenizer.json"
    /// tiktoken's base64 rank file, as Meta ships Llama 3's `tokenizer.model`.
    case tiktoken
    /// A SentencePiece `ModelProto` (`tokenizer.model` of Llama 2, Mistral, InternLM2).
    case sentencePiece = "sentencepiece"

    /// Tells the format from the file's first bytes: `{` is JSON, a base64 token and a rank is tiktoken,
    /// anything else is taken for a SentencePiece protobuf.
    public static func detect(_ bytes: [UInt8]) -> TokenizerFormat {
        var index = 0
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 { index += 1 }
        if index < bytes.count, bytes[index] == UInt8(ascii: "{") { return .huggingFace }
        // tiktoken: "<base64> <decimal>\n" lines.
        var sawSpace = false, sawDigit = false
        for byte in bytes.prefix(256) {
            if byte == 0x0A { return sawSpace && sawDigit ? .tiktoken : .sentencePiece }
            if byte == 0x20 { if sawSpace { return .sentencePiece }; sawSpace = true; continue }
            let isBase64 = (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "=")
            if !isBase64 { return .sentencePiece }
            if sawSpace { guard byte >= 0x30 && byte <= 0x39 else { return .sentencePiece }; sawDigit = true }
        }
        return .sentencePiece
    }
}

/// The file a tokenizer path names: the path itself, or for a directory its `tokenizer.json`, else its
/// `tokenizer.model`.
public func tokenizerFile(at path: String) throws -> String {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return path }
    let candidates = ["tokenizer.json", "tokenizer.model"].map { (path as NSString).appendingPathComponent($0) }
    guard let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) else {
        throw TokenizerError(.io, file: path, "the directory holds neither tokenizer.json nor tokenizer.model")
    }
    return found
}

/// Loads a tokenizer from a file, whatever its format (see `TokenizerFormat.detect`). A directory is searched for
/// `tokenizer.json`, then `tokenizer.model`.
public func loadTokenizer(path: String) throws -> any Tokenizer {
    let file = try tokenizerFile(at: path)
    guard let data = FileManager.default.contents(atPath: file) else {
        throw TokenizerError(.io, file: file, "cannot read the file")
    }
    let bytes = [UInt8](data)
    switch TokenizerFormat.detect(bytes) {
    case .huggingFace: return try HuggingFaceTokenizer(json: bytes, file: file)
    case .tiktoken: return try TiktokenTokenizer(rankFile: bytes, file: file)
    case .sentencePiece: return try SentencePieceTokenizer(modelProto: bytes, file: file)
    }
}
