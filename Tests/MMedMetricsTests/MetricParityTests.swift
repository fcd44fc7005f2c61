import Foundation
import MMedIO
import MMedTestSupport
import Testing
@testable import MMedMetrics

/// Golden pairs from Tests/Oracles/bench_metrics_oracle.py: nltk's sentence_bleu (method1) and the `rouge` 1.0.1
/// package on real text from ../shared/data/qa in six languages, over the reference segmentation's tokens.
struct MetricGolden {
    var language: String
    var candidate: String
    var reference: String
    var candidateTokens: [String]
    var referenceTokens: [String]
    var bleu1: Double
    var bleu4: Double
    var rouge: (Double, Double, Double)?

    static func load(_ path: String) throws -> [MetricGolden] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return try data.split(separator: UInt8(ascii: "\n")).map { line in
            let value = try JSONValue.parse([UInt8](line))
            func strings(_ key: String) -> [String] { value[key]!.array!.map { $0.string! } }
            var rouge: (Double, Double, Double)? = nil
            if let r1 = value["rouge1"]?.number { rouge = (r1, value["rouge2"]!.number!, value["rougeL"]!.number!) }
            return MetricGolden(
                language: value["language"]!.string!, candidate: value["candidate"]!.string!,
                reference: value["reference"]!.string!, candidateTokens: strings("candidate_tokens"),
                referenceTokens: strings("reference_tokens"), bleu1: value["bleu1"]!.number!, bleu4: value["bleu4"]!.number!,
                rouge: rouge)
        }
    }

    /// Runs the oracle once per test process.
    static let shared: Result<[MetricGolden], any Error> = Result {
        let path = temporaryDirectory("metric-golden") + "/golden.jsonl"
        try Oracle.run("bench_metrics_oracle.py", [path])
        return try load(path)
    }
}

@Suite struct MetricParityTests {
    @Test func bleuMatchesNLTK() throws {
        guard SharedData.enabled else { print("skipped: ../shared/data is missing"); return }
        let golden = try MetricGolden.shared.get()
        #expect(golden.count > 900)
        var worst = 0.0, nonZero = 0
        for pair in golden {
            var ids = TokenIDs()
            let hypothesis = ids.ids(pair.candidateTokens), reference = ids.ids(pair.referenceTokens)
            let b1 = BLEU.sentence(reference: reference, hypothesis: hypothesis, weights: BLEU.unigramWeights)
            let b4 = BLEU.sentence(reference: reference, hypothesis: hypothesis, weights: BLEU.defaultWeights)
            worst = max(worst, abs(b1 - pair.bleu1), abs(b4 - pair.bleu4))
            if pair.bleu4 > 0 { nonZero += 1 }
            #expect(abs(b1 - pair.bleu1) <= 1e-9, "BLEU-1 \(pair.language): \(b1) vs \(pair.bleu1) for \(pair.candidate.prefix(80))")
            #expect(abs(b4 - pair.bleu4) <= 1e-9, "BLEU-4 \(pair.language): \(b4) vs \(pair.bleu4) for \(pair.candidate.prefix(80))")
        }
        #expect(nonZero > golden.count / 2)
        print("BLEU: \(golden.count) pairs, largest difference \(worst)")
    }

    @Test func rougeMatchesThePackage() throws {
        guard SharedData.enabled else { print("skipped: ../shared/data is missing"); return }
        let golden = try MetricGolden.shared.get()
        var worst = 0.0, raised = 0
        for pair in golden {
            let unspaced = pair.language == "zh" || pair.language == "ja"
            let scores = unspaced
                ? ROUGE.scores(hypothesis: pair.candidateTokens.joined(separator: " "), reference: pair.referenceTokens.joined(separator: " "))
                : ROUGE.scores(hypothesis: pair.candidate, reference: pair.reference)
            guard let expected = pair.rouge else {
                raised += 1
                #expect(scores == nil, "the package raises on \(pair.candidate.debugDescription) / \(pair.reference.debugDescription)")
                continue
            }
            guard let scores else {
                Issue.record("nil ROUGE for \(pair.candidate.prefix(80))")
                continue
            }
            for (ours, theirs, name) in [(scores.rouge1.f, expected.0, "1"), (scores.rouge2.f, expected.1, "2"), (scores.rougeL.f, expected.2, "L")] {
                worst = max(worst, abs(ours - theirs))
                #expect(abs(ours - theirs) <= 1e-9, "ROUGE-\(name) \(pair.language): \(ours) vs \(theirs) for \(pair.candidate.prefix(80))")
            }
        }
        #expect(raised >= 4)
        print("ROUGE: \(golden.count) pairs (\(raised) where the package raises), largest difference \(worst)")
    }

    @Test func exactSumIsCorrectlyRounded() {
        #expect(exactSum(Array(repeating: 0.1, count: 10)) == 1.0)
        #expect(exactSum([1e100, 1.0, -1e100, 1e-100]) == 1.0)
        #expect(exactSum([]) == 0)
        #expect(exactSum([1, 1e-16, 1e-16]) == 1.0000000000000002)
    }
}

