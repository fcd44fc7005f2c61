import Foundation
import MMedIO

/// A Hugging Face `tokenizer.json`: added tokens, normalizer, pre-tokenizer, model (BPE or WordPiece),
/// post-processor and decoder, each as HF `tokenizers` applies them. Truncation and padding settings in the file are
/// not applied: `encode` returns the whole text's ids.
public final class HuggingFaceTokenizer: Tokenizer {
    enum Model: Sendable {
        case bpe(BPEModel)
        case wordPiece(WordPieceModel)

        var vocabulary: ModelVocabulary {
            switch self {
            case .bpe(let model): return model.vocabulary
            case .wordPiece(let model): return model.vocabulary
            }
        }
    }

    let model: Model
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let postProcessor: PostProcessor?
    let decoder: Decoder?
    let addedTokens: AddedTokens
    /// Set when the pipeline is "split with one of our scanners, then a byte-level BPE": pieces stream straight
    /// from the scanner to the model.
    let streamingScanner: SplitPattern?
    /// Whether the text needs a pass for added tokens matched after normalization (even with no normalizer).
    let matchesNormalizedTokens: Bool
    public let specialTokens: SpecialTokenIDs
    public let vocabularySize: Int

    /// Loads a tokenizer.json. `ignoreMerges` overrides the BPE model's `ignore_merges` flag: Llama 3 files converted
    /// without it (such as the one in ../shared/data) tokenize a few words differently from Meta's tiktoken model,
    /// exactly as HF `tokenizers` does with them; `true` restores Meta's tokenization.
    public init(json bytes: [UInt8], file: String, ignoreMerges: Bool? = nil) throws {
        let document: JSONValue
        do {
            document = try JSONValue.parse(bytes)
        } catch {
            throw TokenizerError(.malformed, file: file, "not valid JSON at byte offset \(error.offset): \(error.message)")
        }
        let root = try JSONObject(document, path: "$", file: file)
        normalizer = try root.optionalObject("normalizer").map(Normalizer.init)
        preTokenizer = try root.optionalObject("pre_tokenizer").map(PreTokenizer.init)
        let modelJSON = try root.object("model")
        let byteLevel = preTokenizer?.isByteLevel ?? false
        let modelType = modelJSON.optionalString("type") ?? (modelJSON.has("merges") ? "BPE" : "")
        switch modelType {
        case "BPE": model = .bpe(try BPEModel(modelJSON, byteLevel: byteLevel, ignoreMergesOverride: ignoreMerges))
        case "WordPiece": model = .wordPiece(try WordPieceModel(modelJSON))
        default: throw modelJSON.unsupported("the model \"\(modelType)\"")
        }
        addedTokens = try AddedTokens(try root.objects("added_tokens"), normalizer: normalizer)
        matchesNormalizedTokens = addedTokens.hasNormalizedTokens
        let vocabulary = model.vocabulary
        let added = addedTokens
        let idOf: (String) -> Int32? = { added.id(of: $0) ?? vocabulary.id(of: $0) }
        postProcessor = try root.optionalObject("post_processor").map { try PostProcessor($0, idOf: idOf) }
        decoder = try root.optionalObject("decoder").map(Decoder.init)
        vocabularySize = max(vocabulary.strings.count, addedTokens.maximumID + 1)
        if normalizer == nil, case .bpe = model, byteLevel, let scanner = preTokenizer?.streamingScanner {
            streamingScanner = scanner
        } else {
            streamingScanner = nil
        }
        specialTokens = HuggingFaceTokenizer.readSpecialTokens(besides: file, idOf: idOf)
    }

    /// BOS/EOS/PAD/UNK come from `tokenizer_config.json` (or `special_tokens_map.json`) beside the file, where present.
    static func readSpecialTokens(besides file: String, idOf: (String) -> Int32?) -> SpecialTokenIDs {
        let directory = (file as NSString).deletingLastPathComponent
        var ids = SpecialTokenIDs()
        for name in ["special_tokens_map.json", "tokenizer_config.json"] {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { continue }
            func token(_ key: String) -> Int32? {
                if let text = object[key] as? String { return idOf(text) }
                if let nested = object[key] as? [String: Any], let text = nested["content"] as? String { return idOf(text) }
                return nil
            }
            ids.bos = token("bos_token") ?? ids.bos
            ids.eos = token("eos_token") ?? ids.eos
            ids.pad = token("pad_token") ?? ids.pad
            ids.unk = token("unk_token") ?? ids.unk
        }
        if ids.bos == nil || ids.eos == nil {
            // Without a config file: the conventional names.
            ids.bos = ids.bos ?? ["<|begin_of_text|>", "<s>", "[CLS]"].lazy.compactMap(idOf).first
            ids.eos = ids.eos ?? ["<|end_of_text|>", "</s>", "[SEP]"].lazy.compactMap(idOf).first
        }
        ids.unk = ids.unk ?? ["<unk>", "[UNK]"].lazy.compactMap(idOf).first
        ids.pad = ids.pad ?? ["<pad>", "[PAD]"].lazy.compactMap(idOf).first
        return ids
    }

    public func encode(_ text: String, addSpecialTokens: Bool) -> [Int32] {
        var output: [Int32] = []
        output.reserveCapacity(text.utf8.count / 4 + 4)
        var merger = BytePairMerger()
        let raw = Array(text.utf8)
        // How many leading bytes of a piece HF aligns to the text's first character (Metaspace's `first` scheme).
        let firstCharacter = raw.isEmpty ? 0 : min(raw.count, utf8Length(raw[0]))
        addedTokens.split(raw, normalizedStage: false) { segment in
            switch segment {
            case .token(let id): output.append(id)
            case .text(let range):
                let origin = range.lowerBound == 0 ? firstCharacter : 0
                guard normalizer != nil || matchesNormalizedTokens else {
                    encodeSegment(Array(raw[range]), origin: origin, merger: &merger, into: &output)
                    return
                }
                var normalized = Array(raw[range]), normalizedOrigin = origin
                if let normalizer {
                    let (string, newOrigin) = normalizer.normalize(String(decoding: normalized, as: UTF8.self), origin: origin)
                    normalized = Array(string.utf8)
                    normalizedOrigin = newOrigin
                }
                addedTokens.split(normalized, normalizedStage: true) { inner in
                    switch inner {
                    case .token(let id): output.append(id)
                    case .text(let innerRange):
                        encodeSegment(Array(normalized[innerRange]), origin: max(0, normalizedOrigin - innerRange.lowerBound),
                                      merger: &merger, into: &output)
                    }
                }
            }
        }
        if addSpecialTokens, let postProcessor { return postProcessor.apply(output) }
        return output
    }

    private func encodeSegment(_ segment: [UInt8], origin: Int, merger: inout BytePairMerger, into output: inout [Int32]) {
        if let streamingScanner, case .bpe(let bpe) = model {
            segment.withUnsafeBufferPointer { bytes in
                streamingScanner.forEachPiece(bytes) { start, end in
                    bpe.encode(UnsafeBufferPointer(rebasing: bytes[start..<end]), merger: &merger, into: &output)
                }
            }
            return
        }
        let piece = PreToken(bytes: segment, origin: origin)
        let words = preTokenizer?.apply([piece]) ?? [piece]
        for word in words {
            word.bytes.withUnsafeBufferPointer { bytes in
                switch model {
                case .bpe(let bpe): bpe.encode(bytes, merger: &merger, into: &output)
                case .wordPiece(let wordPiece): wordPiece.encode(bytes, into: &output)
                }
            }
        }
    }

    public func decode(_ ids: [Int32], skipSpecialTokens: Bool) throws -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        let strings = model.vocabulary.strings
        for id in ids {
            if let added = addedTokens.token(id: id) {
                if skipSpecialTokens && addedTokens.isSkippedAsSpecial(added.form) { continue }
                tokens.append(added.form)
            } else if id >= 0, Int(id) < strings.count, let string = strings[Int(id)] {
                // HF skips any token spelled like a special token's content, a vocabulary token too.
                if skipSpecialTokens && addedTokens.isSkippedAsSpecial(string) { continue }
                tokens.append(string)
            } else {
                throw TokenizerError(.unknownID, "id \(id) is outside the vocabulary (0..<\(vocabularySize))")
            }
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decodeChain(tokens).joined()
    }

    public func tokenString(for id: Int32) -> String? {
        if let added = addedTokens.token(id: id) { return added.content }
        let strings = model.vocabulary.strings
        guard id >= 0, Int(id) < strings.count else { return nil }
        return strings[Int(id)]
    }

    public func id(forToken token: String) -> Int32? { addedTokens.id(of: token) ?? model.vocabulary.id(of: token) }
}
