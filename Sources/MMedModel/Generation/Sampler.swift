import Foundation

/// How the next token is chosen.
public struct SamplingParameters: Sendable {
    /// 0 is greedy.
    public var temperature: Double = 0
    public var topK: Int = 0
    public var topP: Double = 1
    public var repetitionPenalty: Double = 1
    public var seed: UInt64 = 0

    public init(temperature: Double = 0, topK: Int = 0, topP: Double = 1, repetitionPenalty: Double = 1, seed: UInt64 = 0) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.repetitionPenalty = repetitionPenalty
        self.seed = seed
    }
}

/// Picks tokens from logits: repetition penalty (as transformers: divide positive logits, multiply negative ones, of
/// tokens already seen), then greedy, or temperature → top-k → top-p → a draw from a seeded generator.
public struct Sampler: Sendable {
    public var parameters: SamplingParameters
    private var state: UInt64

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        state = parameters.seed &+ 0x9E37_79B9_7F4A_7C15
    }

    mutating func nextRandom() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) / Double(1 << 53)
    }

    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        var value = -Float.infinity
        for (i, v) in logits.enumerated() where v > value { value = v; best = i }
        return best
    }

    public mutating func sample(_ logits: [Float], history: [Int]) -> Int {
        var scores = logits
        if parameters.repetitionPenalty != 1 {
            let penalty = Float(parameters.repetitionPenalty)
            for token in Set(history) where token < scores.count {
                scores[token] = scores[token] > 0 ? scores[token] / penalty : scores[token] * penalty
            }
        }
        if parameters.temperature <= 0 { return scores.withUnsafeBufferPointer { Self.argmax($0) } }
        let temperature = Float(parameters.temperature)
        var candidates = scores.enumerated().map { (token: $0.offset, logit: $0.element / temperature) }
        candidates.sort { $0.logit > $1.logit || ($0.logit == $1.logit && $0.token < $1.token) }
        if parameters.topK > 0 && parameters.topK < candidates.count { candidates.removeSubrange(parameters.topK...) }
        let maximum = candidates[0].logit
        var probabilities = candidates.map { Double(expf($0.logit - maximum)) }
        let total = probabilities.reduce(0, +)
        probabilities = probabilities.map { $0 / total }
        if parameters.topP < 1 {
            var cumulative = 0.0
            var keep = 0
            for p in probabilities {
                cumulative += p
                keep += 1
                if cumulative >= parameters.topP { break }
            }
            probabilities.removeSubrange(keep...)
            let kept = probabilities.reduce(0, +)
            probabilities = probabilities.map { $0 / kept }
        }
        var draw = nextRandom()
        for (index, p) in probabilities.enumerated() {
            draw -= p
            if draw <= 0 { return candidates[index].token }
        }
        return candidates[probabilities.count - 1].token
    }
}

/// log softmax of one row of logits, in double for the sums.
func logSoftmax(_ logits: UnsafeBufferPointer<Float>) -> [Double] {
    let maximum = Double(logits.max() ?? 0)
    var total = 0.0
    for v in logits { total += exp(Double(v) - maximum) }
    let normalizer = maximum + log(total)
    return logits.map { Double($0) - normalizer }
}
