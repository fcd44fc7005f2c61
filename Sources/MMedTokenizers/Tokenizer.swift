import Foundation

/// A tokenizer: text to token ids and back. Implementations are immutable after loading and safe to share
/// between threads.
public protocol Tokenizer: Sendable {
    /// Number of ids the tokenizer can produce (the largest id plus one, added tokens included).
    var vocabularySize: Int { get }
    /// The ids of the special tokens the tokenizer knows (BOS, EOS, PAD, UNK), where it has them.
    var specialTokens: SpecialTokenIDs { get }
    /// Encodes `text`. With `addSpecialTokens`, the tokenizer's own template is applied (BOS for Llama,
    /// `[CLS] … [SEP]` for BERT), as HF `encode` does by default.
    func encode(_ text: String, addSpecialTokens: Bool) -> [Int32]
    /// Decodes `ids`; an id outside the vocabulary is an error. With `skipSpecialTokens`, special tokens are left out.
    func decode(_ ids: [Int32], skipSpecialTokens: Bool) throws -> String
    /// The token's surface form as the tokenizer stores it (byte-level BPE shows `Ġ` for a space), if the id exists.
    func tokenString(for id: Int32) -> String?
    /// The id of a token given in its stored form, if there is one.
    func id(forToken token: String) -> Int32?
}

/// Special token ids; nil where the tokenizer has no such token.
public struct SpecialTokenIDs: Sendable, Equatable, Codable {
    public var bos: Int32?
    public var eos: Int32?
    public var pad: Int32?
    public var unk: Int32?
    public init(bos: Int32? = nil, eos: Int32? = nil, pad: Int32? = nil, unk: Int32? = nil) {
        self.bos = bos; self.eos = eos; self.pad = pad; self.unk = unk
    }
}

extension Tokenizer {
    /// Encodes every text on all cores; the result is in input order and independent of the core count.
    public func encodeBatch(_ texts: [String], addSpecialTokens: Bool = true) -> [[Int32]] {
        var results = [[Int32]](repeating: [], count: texts.count)
        results.withUnsafeMutableBufferPointer { output in
            let base = output.baseAddress!
            let workers = max(1, min(texts.count, ProcessInfo.processInfo.activeProcessorCount))
            let chunk = (texts.count + workers - 1) / max(workers, 1)
            // Each worker writes only its own slice of the output: no two touch the same element.
            nonisolated(unsafe) let target = base
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let start = worker * chunk, end = min(texts.count, start + chunk)
                guard start < end else { return }
                for index in start..<end { target[index] = encode(texts[index], addSpecialTokens: addSpecialTokens) }
            }
        }
        return results
    }
}

/// Why a tokenizer could not be loaded or could not decode.
public struct TokenizerError: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        /// The file could not be read.
        case io
        /// The file is not a tokenizer this library reads, or it is damaged.
        case malformed
        /// The file uses a component (model, normalizer, pre-tokenizer, …) this library does not implement.
        case unsupported
        /// A decode got an id outside the vocabulary.
        case unknownID
    }
    public var kind: Kind
    /// The file it concerns, when there is one.
    public var file: String?
    public var message: String

    public init(_ kind: Kind, file: String? = nil, _ message: String) {
        self.kind = kind; self.file = file; self.message = message
    }

    public var description: String {
        if let file { return "\(file): \(message)" }
        return message
    }
}
