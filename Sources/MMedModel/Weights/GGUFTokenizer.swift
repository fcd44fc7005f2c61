import MMedIO
import MMedTokenizers

/// The tokenizer a GGUF file embeds (`tokenizer.ggml.*`), encoding as llama.cpp's `llama_tokenize(…, parse_special:
/// true)` does:
/// - the text is first cut at every special token (types control, user-defined and unknown, plus the tokens llama.cpp
///   promotes to control by their text, such as `<|im_end|>`), longest token first, each found everywhere before the
///   next shorter one is looked for;
/// - `llama` (SentencePiece-style BPE): each remaining piece gets a leading space when it starts the text or follows
///   a special token (`tokenizer.ggml.add_space_prefix`, default on), spaces become "▁", and characters are merged
///   pairwise, the pair whose merged text has the highest score first (leftmost on ties); characters left outside
///   the vocabulary become their `<0xXX>` byte tokens;
/// - `gpt2` (byte-level BPE with `tokenizer.ggml.merges`): each piece is split by the pre-tokenizer llama.cpp uses for
///   `tokenizer.ggml.pre` and merged by rank, through MMedTokenizers' `HuggingFaceTokenizer` built from an equivalent
///   tokenizer.json;
/// - with `addSpecialTokens`, BOS goes first when `tokenizer.ggml.add_bos_token` says so (default: on for `llama`
///   and the Llama 3 pre-tokenizers, off otherwise) and EOS last when `tokenizer.ggml.add_eos_token` says so.
///
/// Decoding joins the tokens' texts (byte tokens as their byte, "▁" as a space, byte-level characters as their bytes)
/// and drops the leading space the encoder adds to the first piece; llama.cpp's `clean_spaces` pass (which removes
/// the space before "?!.," and is lossy) is not applied.
public final class GGUFTokenizer: Tokenizer {
    /// `tokenizer.ggml.model`.
    public enum Model: String, Sendable {
        /// SentencePiece-style BPE over scores, with byte fallback (Llama 1/2, Mistral v0.1, TinyLlama).
        case llama
        /// Byte-level BPE over merges (GPT-2, SmolLM, Llama 3, Qwen).
        case gpt2
    }

    /// llama.cpp's token types (`tokenizer.ggml.token_type`).
    public enum TokenType: Int32, Sendable {
        case undefined = 0, normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    public let model: Model
    /// `tokenizer.ggml.pre` (gpt2 models).
    public let preTokenizer: String?
    /// Whether `encode(_:addSpecialTokens: true)` puts BOS first / EOS last.
    public let addsBOS: Bool
    public let addsEOS: Bool
    /// Whether a piece of text that starts the input or follows a special token gets a leading space (llama).
    public let addsSpacePrefix: Bool
    public let specialTokens: SpecialTokenIDs
    public var vocabularySize: Int { tokens.count }

    /// The tokens' texts as the file stores them (byte-level alphabet for gpt2, "▁" for spaces for llama).
    let tokens: [[UInt8]]
    let types: [TokenType]
    let scores: [Float]
    let idOfText: [[UInt8]: Int32]
    /// The tokens cut out of the text before tokenizing, longest first.
    let specialMatchOrder: [SpecialMatch]
    /// The first bytes of those tokens: a text with none of them has no special token.
    let specialFirstBytes: Set<UInt8>
    /// `<0xXX>` token of each byte (llama).
    let byteTokenIDs: [Int32?]
    let byteLevel: HuggingFaceTokenizer?

    struct SpecialMatch {
        var id: Int32
        var text: [UInt8]
        var stripsLeft: Bool
        var stripsRight: Bool
    }

    /// The tokenizer of a GGUF file. Throws `TokenizerError` when the file has no tokenizer, an inconsistent one, or
    /// one this library does not implement (a model other than llama and gpt2, an unknown `tokenizer.ggml.pre`).
    public convenience init(_ file: GGUFFile) throws {
        try self.init(metadata: file.metadata, file: file.path)
    }

    public init(metadata: [String: GGUFValue], file: String) throws {
        func malformed(_ message: String) -> TokenizerError { TokenizerError(.malformed, file: file, message) }
        guard let modelName = metadata["tokenizer.ggml.model"]?.string else {
            throw malformed("the file has no tokenizer (tokenizer.ggml.model is missing)")
        }
        guard let model = Model(rawValue: modelName) else {
            throw TokenizerError(.unsupported, file: file,
                                 "tokenizer.ggml.model is \"\(modelName)\"; only \"llama\" and \"gpt2\" tokenizers are implemented")
        }
        self.model = model
        guard let tokenStrings = metadata["tokenizer.ggml.tokens"]?.array?.strings else {
            throw malformed("tokenizer.ggml.tokens is missing or not an array of strings")
        }
        let count = tokenStrings.count
        guard count > 0, count < Int(Int32.max) else { throw malformed("tokenizer.ggml.tokens has \(count) tokens") }

        // Empty tokens get llama.cpp's placeholder text, so that every text is distinct and non-empty.
        let tokens = tokenStrings.enumerated().map { $0.element.isEmpty ? Array("[EMPTY_\($0.offset)]".utf8) : Array($0.element.utf8) }
        var idOfText: [[UInt8]: Int32] = [:]
        idOfText.reserveCapacity(count)
        for (id, text) in tokens.enumerated() {
            guard idOfText.updateValue(Int32(id), forKey: text) == nil else {
                throw malformed("tokenizer.ggml.tokens has \(String(decoding: text, as: UTF8.self).debugDescription) twice")
            }
        }

        var scores = [Float](repeating: 0, count: count)
        if let value = metadata["tokenizer.ggml.scores"] {
            let values: [Float]
            switch value.array {
            case .float32(let floats)?: values = floats
            case .int32(let ints)?: values = ints.map(Float.init)
            default: throw malformed("tokenizer.ggml.scores is a \(value.type), not an array of FLOAT32 or INT32")
            }
            guard values.count >= count else { throw malformed("tokenizer.ggml.scores has \(values.count) scores for \(count) tokens") }
            scores = Array(values.prefix(count))
        }
        var types = [TokenType](repeating: .normal, count: count)
        if let value = metadata["tokenizer.ggml.token_type"] {
            guard let codes = value.array?.int32s else { throw malformed("tokenizer.ggml.token_type is not an array of INT32") }
            guard codes.count >= count else { throw malformed("tokenizer.ggml.token_type has \(codes.count) types for \(count) tokens") }
            for id in 0..<count { types[id] = TokenType(rawValue: codes[id]) ?? .undefined }
        }

        func flag(_ key: String) throws -> Bool? {
            guard let value = metadata[key] else { return nil }
            guard let flag = value.bool else { throw malformed("\(key) is a \(value.type), not a BOOL") }
            return flag
        }
        let pre = metadata["tokenizer.ggml.pre"]?.string
        preTokenizer = model == .gpt2 ? pre ?? "default" : pre
        var addBOS: Bool
        switch model {
        case .llama:
            addBOS = true
            addsSpacePrefix = try flag("tokenizer.ggml.add_space_prefix") ?? true
        case .gpt2:
            addBOS = GGUFTokenizer.llama3PreTokenizers.contains(preTokenizer ?? "")
            addsSpacePrefix = false
        }
        addBOS = try flag("tokenizer.ggml.add_bos_token") ?? addBOS
        addsBOS = addBOS
        addsEOS = try flag("tokenizer.ggml.add_eos_token") ?? false

        // Special ids: llama.cpp's defaults per model, replaced by the file's keys where they name a token.
        func specialID(_ key: String, default defaultID: Int32?) throws -> Int32? {
            var id = defaultID.flatMap { $0 >= 0 && Int($0) < count ? $0 : nil }
            if let value = metadata[key] {
                guard let raw = value.integer else { throw malformed("\(key) is a \(value.type), not an integer") }
                if raw >= 0 && raw < count { id = Int32(raw) }
            }
            return id
        }
        let isLlama = model == .llama
        specialTokens = SpecialTokenIDs(
            bos: try specialID("tokenizer.ggml.bos_token_id", default: isLlama ? 1 : 11),
            eos: try specialID("tokenizer.ggml.eos_token_id", default: isLlama ? 2 : 11),
            pad: try specialID("tokenizer.ggml.padding_token_id", default: nil),
            unk: try specialID("tokenizer.ggml.unknown_token_id", default: isLlama ? 0 : nil))
        if addsBOS && specialTokens.bos == nil { throw malformed("tokenizer.ggml.add_bos_token is set but there is no BOS token") }
        if addsEOS && specialTokens.eos == nil { throw malformed("tokenizer.ggml.add_eos_token is set but there is no EOS token") }

        GGUFTokenizer.promoteByText(&types, idOfText: idOfText, metadata: metadata)
        self.types = types
        self.scores = scores

        // The special-token cache: longest first (ties by id, where llama.cpp's unstable sort leaves them unordered).
        let generalName = (metadata["general.name"]?.string ?? "").lowercased()
        let isPhi3 = generalName.contains("phi-3") || generalName.contains("phi3")
        var matches: [SpecialMatch] = []
        for id in 0..<count where [.control, .userDefined, .unknown].contains(types[id]) {
            let text = tokens[id]
            var stripsRight = false
            if isPhi3 {
                // llama.cpp strips the whitespace after Phi-3's special tokens, except after these.
                stripsRight = !["<unk>", "<s>", "<|endoftext|>"].contains(String(decoding: text, as: UTF8.self))
            }
            matches.append(SpecialMatch(id: Int32(id), text: text, stripsLeft: false, stripsRight: stripsRight))
        }
        matches.sort { $0.text.count != $1.text.count ? $0.text.count > $1.text.count : $0.id < $1.id }
        specialMatchOrder = matches
        specialFirstBytes = Set(matches.map { $0.text[0] })

        var byteTokenIDs = [Int32?](repeating: nil, count: 256)
        if model == .llama {
            let hex = Array("0123456789ABCDEF".utf8)
            for byte in 0..<256 {
                let name = Array("<0x".utf8) + [hex[byte >> 4], hex[byte & 15], UInt8(ascii: ">")]
                byteTokenIDs[byte] = idOfText[name] ?? idOfText[[UInt8(byte)]]
            }
            byteLevel = nil
        } else {
            byteLevel = try GGUFTokenizer.byteLevelTokenizer(tokens: tokens.map { String(decoding: $0, as: UTF8.self) }, pre: preTokenizer ?? "default",
                                                            metadata: metadata, file: file)
        }
        self.byteTokenIDs = byteTokenIDs
        self.tokens = tokens
        self.idOfText = idOfText
    }

    /// The `tokenizer.ggml.pre` values for which llama.cpp uses Llama 3's split pattern, ignores merges for words in
    /// the vocabulary, and adds BOS by default.
    static let llama3PreTokenizers: Set<String> = [
        "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano",
    ]
    /// Pre-tokenizers that are GPT-2's split pattern after isolating every digit (llama.cpp's SMOLLM group).
    static let digitThenGPT2PreTokenizers: Set<String> = [
        "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b", "mellum2",
    ]
    /// Pre-tokenizers that are GPT-2's split pattern alone.
    static let gpt2PreTokenizers: Set<String> = [
        "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum", "modern-bert",
        "jina-v1-en", "jina-v2-code", "roberta-bpe", "exaone4", "mpt", "olmo", "jais", "trillion", "granite-docling",
    ]

    /// Tokens llama.cpp makes control tokens by their text, whatever the file's types say: end-of-generation
    /// markers (all of them), and the first of each group of end-of-turn and fill-in-the-middle markers when the file
    /// names no id for that role. A few gpt-oss markers become user-defined, and "</s>" is normal beside Gemma 4's or
    /// PLaMo's markers.
    static func promoteByText(_ types: inout [TokenType], idOfText: [[UInt8]: Int32], metadata: [String: GGUFValue]) {
        func id(_ text: String) -> Int? { idOfText[Array(text.utf8)].map(Int.init) }
        func makeControl(_ id: Int) { if types[id] != .control { types[id] = .control } }
        let groups: [(key: String, candidates: [String])] = [
            ("eot", ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>", "<EOT>", "_<EOT>",
                     "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"]),
            ("eom", ["<|eom_id|>"]),
            ("fim_pre", ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"]),
            ("fim_suf", ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"]),
            ("fim_mid", ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"]),
            ("fim_pad", ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]),
            ("fim_rep", ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]),
            ("fim_sep", ["<|file_sep|>"]),
        ]
        // The deprecated names of three of the keys.
        let aliases = ["fim_pre": "prefix", "fim_suf": "suffix", "fim_mid": "middle"]
        func named(_ role: String) -> Bool {
            ([role] + [aliases[role]].compactMap { $0 }).contains { key in
                metadata["tokenizer.ggml.\(key)_token_id"]?.integer.map { $0 >= 0 && $0 < types.count } ?? false
            }
        }
        for group in groups where !named(group.key) {
            if let found = group.candidates.lazy.compactMap(id).first { makeControl(found) }
        }
        let endOfGeneration = [
            "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>", "<end_of_turn>",
            "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>",
            "<eos>", "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~[",
        ]
        for text in endOfGeneration { if let found = id(text) { makeControl(found) } }
        for text in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
            if let found = id(text) { types[found] = .userDefined }
        }
        if let end = id("</s>"), id("<|tool_response>") != nil || id("<|plamo:eos|>") != nil { types[end] = .normal }
    }

    /// A tokenizer.json equivalent to the file's byte-level BPE, for `HuggingFaceTokenizer`: the vocabulary, the
    /// merges, and the pre-tokenizer llama.cpp uses for `pre`. Special tokens are not listed: they are cut out before.
    static func byteLevelTokenizer(tokens: [String], pre: String, metadata: [String: GGUFValue], file: String) throws -> HuggingFaceTokenizer {
        guard let merges = metadata["tokenizer.ggml.merges"]?.array?.strings else {
            throw TokenizerError(.malformed, file: file, "a gpt2 tokenizer needs tokenizer.ggml.merges (an array of strings)")
        }
        let byteLevel: JSONValue = .object([
            ("type", .string("ByteLevel")), ("add_prefix_space", .bool(false)), ("trim_offsets", .bool(false)),
            ("use_regex", .bool(true)),
        ])
        let preTokenizer: JSONValue
        let ignoreMerges: Bool
        if digitThenGPT2PreTokenizers.contains(pre) {
            preTokenizer = .object([
                ("type", .string("Sequence")),
                ("pretokenizers", .array([.object([("type", .string("Digits")), ("individual_digits", .bool(true))]), byteLevel])),
            ])
            ignoreMerges = false
        } else if gpt2PreTokenizers.contains(pre) {
            preTokenizer = byteLevel
            ignoreMerges = false
        } else if llama3PreTokenizers.contains(pre) {
            // HF's spelling of the pattern (llama.cpp spells the contractions' case-insensitivity out as [sS] etc.).
            let pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
            preTokenizer = .object([
                ("type", .string("Sequence")),
                ("pretokenizers", .array([
                    .object([("type", .string("Split")), ("pattern", .object([("Regex", .string(pattern))])),
                             ("behavior", .string("Isolated")), ("invert", .bool(false))]),
                    .object([("type", .string("ByteLevel")), ("add_prefix_space", .bool(false)), ("trim_offsets", .bool(false)),
                             ("use_regex", .bool(false))]),
                ])),
            ])
            ignoreMerges = true
        } else {
            throw TokenizerError(.unsupported, file: file,
                                 "tokenizer.ggml.pre is \"\(pre)\"; the implemented byte-level pre-tokenizers are "
                                     + (digitThenGPT2PreTokenizers.union(gpt2PreTokenizers).union(llama3PreTokenizers)).sorted().joined(separator: ", "))
        }
        // llama.cpp splits a merge at its first space after the first byte (a merge of " " with "x" would be "  x").
        var mergePairs: [JSONValue] = []
        mergePairs.reserveCapacity(merges.count)
        for (rank, merge) in merges.enumerated() {
            let bytes = Array(merge.utf8)
            guard bytes.count >= 3, let space = bytes[1...].firstIndex(of: 0x20) else {
                throw TokenizerError(.malformed, file: file, "tokenizer.ggml.merges[\(rank)] is \(merge.debugDescription), not \"left right\"")
            }
            mergePairs.append(.array([.string(String(decoding: bytes[..<space], as: UTF8.self)),
                                      .string(String(decoding: bytes[(space + 1)...], as: UTF8.self))]))
        }
        let document: JSONValue = .object([
            ("version", .string("1.0")),
            ("added_tokens", .array([])),
            ("pre_tokenizer", preTokenizer),
            ("decoder", .object([("type", .string("ByteLevel"))])),
            ("model", .object([
                ("type", .string("BPE")), ("fuse_unk", .bool(false)), ("byte_fallback", .bool(false)),
                ("ignore_merges", .bool(ignoreMerges)),
                ("vocab", .object(tokens.enumerated().map { ($0.element, .number(Double($0.offset))) })),
                ("merges", .array(mergePairs)),
            ])),
        ])
        let buffer = ByteBuffer()
        document.write(to: buffer)
        // A path inside the GGUF file, so that no tokenizer_config.json beside it is read.
        return try HuggingFaceTokenizer(json: Array(buffer.bytes), file: file + "/tokenizer.ggml")
    }

    // MARK: - Encoding

    enum Fragment {
        case text(Range<Int>)
        case token(Int32)
    }

    /// llama.cpp's `tokenizer_st_partition`: each special token in turn, longest first, is cut out of every text
    /// fragment, left to right.
    func partition(_ text: [UInt8]) -> [Fragment] {
        guard !text.isEmpty else { return [] }
        var fragments: [Fragment] = [.text(0..<text.count)]
        guard text.contains(where: specialFirstBytes.contains) else { return fragments }
        for special in specialMatchOrder {
            var next: [Fragment] = []
            next.reserveCapacity(fragments.count + 2)
            var changed = false
            for fragment in fragments {
                guard case .text(var range) = fragment else { next.append(fragment); continue }
                while let match = Self.find(special.text, in: text, range) {
                    changed = true
                    var left = range.lowerBound..<match
                    if special.stripsLeft {
                        while !left.isEmpty, Self.isCSpace(text[left.upperBound - 1]) { left = left.lowerBound..<(left.upperBound - 1) }
                    }
                    if !left.isEmpty { next.append(.text(left)) }
                    next.append(.token(special.id))
                    var rightStart = match + special.text.count
                    if special.stripsRight {
                        while rightStart < range.upperBound, Self.isCSpace(text[rightStart]) { rightStart += 1 }
                    }
                    range = rightStart..<range.upperBound
                }
                if !range.isEmpty { next.append(.text(range)) }
            }
            if changed { fragments = next }
        }
        return fragments
    }

    static func isCSpace(_ byte: UInt8) -> Bool { byte == 0x20 || (byte >= 0x09 && byte <= 0x0D) }

    static func find(_ needle: [UInt8], in haystack: [UInt8], _ range: Range<Int>) -> Int? {
        guard needle.count <= range.count else { return nil }
        let first = needle[0]
        var start = range.lowerBound
        let last = range.upperBound - needle.count
        while start <= last {
            if haystack[start] == first {
                var index = 1
                while index < needle.count && haystack[start + index] == needle[index] { index += 1 }
                if index == needle.count { return start }
            }
            start += 1
        }
        return nil
    }

    public func encode(_ text: String, addSpecialTokens: Bool) -> [Int32] {
        let bytes = Array(text.utf8)
        var output: [Int32] = []
        output.reserveCapacity(bytes.count / 3 + 2)
        if addSpecialTokens && addsBOS, let bos = specialTokens.bos { output.append(bos) }
        var previousWasSpecial = true
        for fragment in partition(bytes) {
            switch fragment {
            case .token(let id):
                output.append(id)
                previousWasSpecial = true
            case .text(let range):
                switch model {
                case .llama:
                    var piece: [UInt8] = []
                    piece.reserveCapacity(range.count * 3 + 3)
                    if addsSpacePrefix && previousWasSpecial { piece.append(contentsOf: Self.spaceSymbol) }
                    for byte in bytes[range] {
                        if byte == 0x20 { piece.append(contentsOf: Self.spaceSymbol) } else { piece.append(byte) }
                    }
                    encodeScored(piece, into: &output)
                case .gpt2:
                    output.append(contentsOf: byteLevel!.encode(String(decoding: bytes[range], as: UTF8.self), addSpecialTokens: false))
                }
                previousWasSpecial = false
            }
        }
        if addSpecialTokens && addsEOS, let eos = specialTokens.eos { output.append(eos) }
        return output
    }

    /// "▁" (U+2581), SentencePiece's space.
    static let spaceSymbol: [UInt8] = [0xE2, 0x96, 0x81]

    /// llama.cpp's SPM session: characters merged pairwise by the score of the merged text.
    func encodeScored(_ text: [UInt8], into output: inout [Int32]) {
        guard !text.isEmpty else { return }
        // Symbols: UTF-8 characters as (start, length), linked both ways; a merged-away symbol has length 0.
        var starts: [Int] = [], lengths: [Int] = [], previous: [Int] = [], next: [Int] = []
        var offset = 0
        while offset < text.count {
            let length = min(Self.utf8Length(text[offset]), text.count - offset)
            previous.append(starts.count - 1)
            starts.append(offset)
            lengths.append(length)
            offset += length
            next.append(offset == text.count ? -1 : starts.count)
        }
        var queue = BigramQueue()
        func tryAdd(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0 else { return }
            let merged = Array(text[starts[left]..<(starts[left] + lengths[left] + lengths[right])])
            guard let id = idOfText[merged] else { return }
            queue.push(Bigram(left: left, right: right, score: scores[Int(id)], size: merged.count))
        }
        for index in 1..<starts.count { tryAdd(index - 1, index) }
        while let bigram = queue.pop() {
            let left = bigram.left, right = bigram.right
            // Skip pairs whose symbols have changed since they were queued.
            guard lengths[left] > 0, lengths[right] > 0, lengths[left] + lengths[right] == bigram.size else { continue }
            lengths[left] += lengths[right]
            lengths[right] = 0
            next[left] = next[right]
            if next[right] >= 0 { previous[next[right]] = left }
            tryAdd(previous[left], left)
            tryAdd(left, next[left])
        }
        var index = 0
        while index != -1 {
            let symbol = Array(text[starts[index]..<(starts[index] + lengths[index])])
            if let id = idOfText[symbol] {
                output.append(id)
            } else {
                // Only single characters can be outside the vocabulary (merges make only tokens): their bytes.
                for byte in symbol { if let id = byteTokenIDs[Int(byte)] { output.append(id) } }
            }
            index = next[index]
        }
    }

    /// llama.cpp's `unicode_len_utf8`: the length a lead byte announces (a stray continuation byte counts as one).
    static func utf8Length(_ byte: UInt8) -> Int {
        switch byte >> 4 {
        case 0xF: 4
        case 0xE: 3
        case 0xC, 0xD: 2
        default: 1
        }
    }

    // MARK: - Decoding

    public func decode(_ ids: [Int32], skipSpecialTokens: Bool) throws -> String {
        var output: [UInt8] = []
        output.reserveCapacity(ids.count * 4)
        var stripLeadingSpace = model == .llama && addsSpacePrefix
        for id in ids {
            guard id >= 0, Int(id) < tokens.count else {
                throw TokenizerError(.unknownID, "id \(id) is outside the vocabulary (0..<\(tokens.count))")
            }
            let text = tokens[Int(id)]
            switch types[Int(id)] {
            case .control, .unknown:
                if !skipSpecialTokens { output.append(contentsOf: text) }
                continue
            case .userDefined:
                output.append(contentsOf: text)
            case .byte:
                output.append(Self.byteOfPiece(text) ?? text.first ?? 0)
            case .normal:
                let start = output.count
                if model == .llama {
                    var index = 0
                    while index < text.count {
                        if index + 3 <= text.count && text[index] == 0xE2 && text[index + 1] == 0x96 && text[index + 2] == 0x81 {
                            output.append(0x20)
                            index += 3
                        } else {
                            output.append(text[index])
                            index += 1
                        }
                    }
                } else {
                    for scalar in String(decoding: text, as: UTF8.self).unicodeScalars {
                        if let byte = ByteLevelBytes.byte(of: scalar) { output.append(byte) } else { output.append(contentsOf: Array(String(scalar).utf8)) }
                    }
                }
                if stripLeadingSpace && output.count > start && output[start] == 0x20 { output.remove(at: start) }
            case .undefined, .unused:
                continue
            }
            stripLeadingSpace = false
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The byte of a `<0xXX>` token.
    static func byteOfPiece(_ text: [UInt8]) -> UInt8? {
        guard text.count == 6, text.starts(with: Array("<0x".utf8)), text[5] == UInt8(ascii: ">") else { return nil }
        func digit(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        guard let high = digit(text[3]), let low = digit(text[4]) else { return nil }
        return high << 4 | low
    }

    public func tokenString(for id: Int32) -> String? {
        guard id >= 0, Int(id) < tokens.count else { return nil }
        return String(decoding: tokens[Int(id)], as: UTF8.self)
    }

    public func id(forToken token: String) -> Int32? { idOfText[Array(token.utf8)] }

    /// The type of a token, if the id exists.
    public func tokenType(of id: Int32) -> TokenType? {
        guard id >= 0, Int(id) < types.count else { return nil }
        return types[Int(id)]
    }
}

/// A pair of adjacent symbols whose merged text is a token.
struct Bigram {
    var left: Int
    var right: Int
    var score: Float
    var size: Int

    /// llama.cpp's order: the higher score first, then the leftmost.
    func precedes(_ other: Bigram) -> Bool { score > other.score || (score == other.score && left < other.left) }
}

/// A binary max-heap of bigrams in `Bigram.precedes` order.
struct BigramQueue {
    private var heap: [Bigram] = []

    mutating func push(_ bigram: Bigram) {
        heap.append(bigram)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].precedes(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Bigram? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            heap[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var best = parent
                if left < heap.count && heap[left].precedes(heap[best]) { best = left }
                if right < heap.count && heap[right].precedes(heap[best]) { best = right }
                if best == parent { break }
                heap.swapAt(parent, best)
                parent = best
            }
        }
        return top
    }
}

/// GPT-2's byte-to-character table, inverted: the byte each character of a byte-level token stands for.
enum ByteLevelBytes {
    static let table: [UInt32: UInt8] = {
        var table: [UInt32: UInt8] = [:]
        var extra: UInt32 = 256
        for byte in 0..<256 {
            let printable = (33...126).contains(byte) || (161...172).contains(byte) || (174...255).contains(byte)
            if printable {
                table[UInt32(byte)] = UInt8(byte)
            } else {
                table[extra] = UInt8(byte)
                extra += 1
            }
        }
        return table
    }()

    static func byte(of scalar: Unicode.Scalar) -> UInt8? { table[scalar.value] }
}
