import Foundation

/// BLEU exactly as nltk 3.10.4 computes `sentence_bleu([reference], hypothesis, weights,
/// smoothing_function=SmoothingFunction().method1)`: clipped n-gram precisions as unreduced fractions, method 1
/// (a zero count becomes 0.1 / denominator), `math.fsum` of the weighted logs, and the brevity penalty.
public enum BLEU {
    /// MMedBench's paper reports BLEU-1.
    public static let unigramWeights: [Double] = [1, 0, 0, 0]
    /// nltk's default, which the published script used.
    public static let defaultWeights: [Double] = [0.25, 0.25, 0.25, 0.25]

    /// The score of `hypothesis` against one `reference`, both as token ids (see `TokenIDs`).
    public static func sentence(reference: [Int32], hypothesis: [Int32], weights: [Double] = defaultWeights) -> Double {
        let epsilon = 0.1
        var numerators: [Int] = []
        var denominators: [Int] = []
        for n in 1...weights.count {
            let (numerator, denominator) = modifiedPrecision(reference: reference, hypothesis: hypothesis, n: n)
            numerators.append(numerator)
            denominators.append(denominator)
        }
        if numerators[0] == 0 { return 0 }
        let hypothesisLength = hypothesis.count
        let referenceLength = reference.count
        let brevityPenalty: Double
        if hypothesisLength > referenceLength {
            brevityPenalty = 1
        } else if hypothesisLength == 0 {
            brevityPenalty = 0
        } else {
            brevityPenalty = exp(1 - Double(referenceLength) / Double(hypothesisLength))
        }
        var terms: [Double] = []
        for (index, weight) in weights.enumerated() {
            // method1: (0 + epsilon) / denominator for a zero count, the fraction itself otherwise (float(Fraction)
            // is the correctly rounded quotient, as is this division of two exactly representable integers).
            let precision = numerators[index] == 0
                ? epsilon / Double(denominators[index])
                : Double(numerators[index]) / Double(denominators[index])
            if precision > 0 { terms.append(weight * log(precision)) }
        }
        return brevityPenalty * exp(exactSum(terms))
    }

    /// nltk's `modified_precision` as (numerator, denominator): hypothesis n-gram counts clipped by the reference's.
    static func modifiedPrecision(reference: [Int32], hypothesis: [Int32], n: Int) -> (Int, Int) {
        guard hypothesis.count >= n else { return (0, 1) }
        var counts: [NGram: Int] = [:]
        for start in 0...(hypothesis.count - n) {
            counts[NGram(hypothesis, start, n), default: 0] += 1
        }
        var referenceCounts: [NGram: Int] = [:]
        if reference.count >= n {
            for start in 0...(reference.count - n) {
                let gram = NGram(reference, start, n)
                if counts[gram] != nil { referenceCounts[gram, default: 0] += 1 }
            }
        }
        var numerator = 0
        for (gram, count) in counts { numerator += min(count, referenceCounts[gram] ?? 0) }
        return (numerator, max(1, hypothesis.count - n + 1))
    }
}

/// An n-gram of token ids (n ≤ 4 packed in place; longer ones kept as an array).
struct NGram: Hashable {
    var packed: (Int32, Int32, Int32, Int32)
    var rest: [Int32]

    init(_ tokens: [Int32], _ start: Int, _ n: Int) {
        var p: (Int32, Int32, Int32, Int32) = (-1, -1, -1, -1)
        if n > 0 { p.0 = tokens[start] }
        if n > 1 { p.1 = tokens[start + 1] }
        if n > 2 { p.2 = tokens[start + 2] }
        if n > 3 { p.3 = tokens[start + 3] }
        packed = p
        rest = n > 4 ? Array(tokens[(start + 4)..<(start + n)]) : []
    }

    static func == (a: NGram, b: NGram) -> Bool {
        a.packed.0 == b.packed.0 && a.packed.1 == b.packed.1 && a.packed.2 == b.packed.2 && a.packed.3 == b.packed.3
            && a.rest == b.rest
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(packed.0)
        hasher.combine(packed.1)
        hasher.combine(packed.2)
        hasher.combine(packed.3)
        hasher.combine(rest)
    }
}
