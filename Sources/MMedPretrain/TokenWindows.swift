// How a document's token ids become training sequences. The rule of `window` mode is that of MMedLM's
// `pretrain/prepare_tokenized_dataset.py`:
//
//     ids = tokenizer.encode(text) + [eos]
//     if len(ids) < W: one window, ids padded with the pad id to W
//     else: for i in range(0, len(ids), W - O):
//               if i + W < len(ids): window ids[i:i+W]
//               else: window ids[-W:] (the last W tokens); stop
//
// with W = 2048 and O = 512 (stride 1536) in the original. The functions here are pure: they see ids, never text.

/// How documents become sequences.
public enum SequenceMode: String, Sendable, Codable, CaseIterable {
    /// Windows of W tokens with an overlap of O, as the original (documents shorter than W padded to W).
    case window
    /// One unpadded sequence per document (ids + EOS), for trainers that pack sequences themselves (Megatron's
    /// GPTDataset).
    case document
}

/// Which tokens of a sequence the loss is computed on.
public enum LossMaskMode: String, Sendable, Codable, CaseIterable {
    /// 1 on the document's tokens, 0 on padding: the model is not trained to predict pad tokens.
    case excludePadding = "exclude-padding"
    /// 1 everywhere, padding included: the original trains with labels = input ids, pads and all.
    case published
}

/// The settings that turn token ids into sequences.
public struct SequenceSettings: Sendable, Equatable, Codable {
    public var mode: SequenceMode
    /// W: tokens per window (window mode).
    public var windowSize: Int
    /// O: tokens a window shares with the one before it (window mode); the stride is W − O.
    public var overlap: Int
    /// The id that fills windows of documents shorter than W.
    public var padID: Int32
    public var lossMask: LossMaskMode

    public init(mode: SequenceMode = .window, windowSize: Int = 2048, overlap: Int = 512, padID: Int32,
                lossMask: LossMaskMode = .excludePadding) {
        self.mode = mode
        self.windowSize = windowSize
        self.overlap = overlap
        self.padID = padID
        self.lossMask = lossMask
    }

    /// W − O: how far each window starts after the one before it.
    public var stride: Int { windowSize - overlap }

    /// Why these settings cannot cut windows, if they cannot.
    public var problem: String? {
        guard mode == .window else { return nil }
        if windowSize < 1 || windowSize > Int(Int32.max) { return "the window must be between 1 and \(Int32.max) tokens (got \(windowSize))" }
        // A negative overlap would skip tokens between windows; an overlap of W would never advance.
        if overlap < 0 || overlap >= windowSize { return "the overlap must be at least 0 and less than the window \(windowSize) (got \(overlap))" }
        return nil
    }
}

/// Where one output sequence comes from: the document's ids `start..<end`, followed by `padding` pad ids.
public struct SequenceSpan: Equatable, Sendable, Hashable {
    public var start: Int
    public var end: Int
    public var padding: Int

    public init(start: Int, end: Int, padding: Int) {
        self.start = start
        self.end = end
        self.padding = padding
    }

    /// Tokens in the sequence, padding included.
    public var length: Int { end - start + padding }
}

/// The sequences a document of `tokenCount` ids (EOS included) becomes. In window mode every span has W tokens;
/// in document mode there is one span of all the ids (none for a document without ids).
public func sequenceSpans(tokenCount: Int, settings: SequenceSettings) -> [SequenceSpan] {
    precondition(tokenCount >= 0 && settings.problem == nil, "invalid sequence settings: \(settings.problem ?? "")")
    switch settings.mode {
    case .document:
        return tokenCount == 0 ? [] : [SequenceSpan(start: 0, end: tokenCount, padding: 0)]
    case .window:
        let window = settings.windowSize
        if tokenCount < window { return [SequenceSpan(start: 0, end: tokenCount, padding: window - tokenCount)] }
        var spans: [SequenceSpan] = []
        spans.reserveCapacity((tokenCount - window) / settings.stride + 2)
        var start = 0
        while start < tokenCount {
            if start + window < tokenCount {
                spans.append(SequenceSpan(start: start, end: start + window, padding: 0))
            } else {
                // The tail: the last W tokens, which may overlap the window before by more than O.
                spans.append(SequenceSpan(start: tokenCount - window, end: tokenCount, padding: 0))
                break
            }
            start += settings.stride
        }
        return spans
    }
}

/// One training sequence with its loss mask.
public struct TokenSequence: Equatable, Sendable {
    public var tokens: [Int32]
    /// 1 where the loss is computed, 0 elsewhere; as long as `tokens`.
    public var lossMask: [UInt8]
    /// Pad ids at the end of `tokens`.
    public var padding: Int

    public init(tokens: [Int32], lossMask: [UInt8], padding: Int) {
        self.tokens = tokens
        self.lossMask = lossMask
        self.padding = padding
    }
}

/// The loss mask of a sequence of `length` tokens whose last `padding` are pad ids.
public func lossMask(length: Int, padding: Int, mode: LossMaskMode) -> [UInt8] {
    switch mode {
    case .published: return [UInt8](repeating: 1, count: length)
    case .excludePadding: return [UInt8](repeating: 1, count: length - padding) + [UInt8](repeating: 0, count: padding)
    }
}

/// The sequences of a document whose ids (EOS included) are `ids`.
public func makeSequences(ids: [Int32], settings: SequenceSettings) -> [TokenSequence] {
    sequenceSpans(tokenCount: ids.count, settings: settings).map { span in
        let tokens = Array(ids[span.start..<span.end]) + [Int32](repeating: settings.padID, count: span.padding)
        return TokenSequence(tokens: tokens, lossMask: lossMask(length: span.length, padding: span.padding, mode: settings.lossMask),
                             padding: span.padding)
    }
}
