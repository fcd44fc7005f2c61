import Foundation
import MMedMetrics
import MMedText

/// Which numbers `mmed bench score` reports.
public enum ScoreMode: String, Sendable, CaseIterable {
    /// What the paper states: BLEU-1 and ROUGE-1 F, robust answer extraction.
    case paper
    /// What the published scripts compute: BLEU-4 (nltk's default weights), ROUGE-L F, their answer extraction, and
    /// responses with their newlines removed as inference.py wrote them.
    case published
}

/// The scores of one item.
public struct ItemScore: Sendable {
    public var id: String
    public var language: Language
    public var predicted: [String]?
    public var correct: Bool
    /// nil when the item has no rationale metrics (direct mode, no reference, or a failed human check).
    public var rationale: RationaleScore?
}

public struct RationaleScore: Sendable {
    public var bleu1: Double
    public var bleu4: Double
    public var rouge1: Double
    public var rouge2: Double
    public var rougeL: Double
    /// The response had no rationale text (the Python ROUGE raises on it; it scores 0 here and is counted).
    public var empty: Bool
}

public struct LanguageScore: Sendable {
    public var language: Language
    public var items = 0
    public var correct = 0
    public var unparseable = 0
    public var rationaleItems = 0
    public var emptyRationales = 0
    public var bleu1 = 0.0
    public var bleu4 = 0.0
    public var rouge1 = 0.0
    public var rouge2 = 0.0
    public var rougeL = 0.0

    /// Accuracy in percent.
    public var accuracy: Double { items == 0 ? 0 : Double(correct) / Double(items) * 100 }
    public func bleu(_ mode: ScoreMode) -> Double { mode == .paper ? bleu1 : bleu4 }
    public func rouge(_ mode: ScoreMode) -> Double { mode == .paper ? rouge1 : rougeL }
}

public struct BenchScore: Sendable {
    public var mode: ScoreMode
    public var extraction: AnswerExtraction
    public var model: String
    public var backend: String
    public var sources: [String]
    public var languages: [LanguageScore]
    public var items: [ItemScore]
    public var seconds: Double

    /// The unweighted mean over the languages present.
    public func average(_ value: (LanguageScore) -> Double, rationale: Bool = false) -> Double? {
        let present = languages.filter { rationale ? $0.rationaleItems > 0 : $0.items > 0 }
        guard !present.isEmpty else { return nil }
        return present.reduce(0) { $0 + value($1) } / Double(present.count)
    }
}

/// Scores results files: accuracy per language (multi-answer as exact sets) and the rationale metrics over the items
/// that have a human-checked reference.
public struct BenchScorer: Sendable {
    public var mode: ScoreMode
    public var extraction: AnswerExtraction
    public var segmenters: Segmenters

    public init(mode: ScoreMode, extraction: AnswerExtraction? = nil, segmenters: Segmenters) {
        self.mode = mode
        self.extraction = extraction ?? (mode == .paper ? .robust : .published)
        self.segmenters = segmenters
    }

    public func score(_ results: [BenchResult], sources: [String] = []) throws -> BenchScore {
        let start = Date()
        // Load the segmenters the rationale items need before going parallel, so a missing package is one error.
        for language in Set(results.filter(needsRationale).map(\.language)) { _ = try segmenters.segmenter(for: language) }
        var items = [ItemScore?](repeating: nil, count: results.count)
        let chunk = 64
        let chunks = (results.count + chunk - 1) / chunk
        items.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let output = buffer
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                for index in (c * chunk)..<min(results.count, (c + 1) * chunk) {
                    output[index] = scoreItem(results[index])
                }
            }
        }
        var languages: [Language: LanguageScore] = [:]
        for item in items {
            let item = item!
            var entry = languages[item.language] ?? LanguageScore(language: item.language)
            entry.items += 1
            if item.correct { entry.correct += 1 }
            if item.predicted == nil { entry.unparseable += 1 }
            if let r = item.rationale {
                entry.rationaleItems += 1
                if r.empty { entry.emptyRationales += 1 }
                entry.bleu1 += r.bleu1
                entry.bleu4 += r.bleu4
                entry.rouge1 += r.rouge1
                entry.rouge2 += r.rouge2
                entry.rougeL += r.rougeL
            }
            languages[item.language] = entry
        }
        let ordered = BenchLanguages.all.compactMap { languages[$0] }.map { entry -> LanguageScore in
            var mean = entry
            let n = Double(max(1, entry.rationaleItems))
            mean.bleu1 /= n; mean.bleu4 /= n; mean.rouge1 /= n; mean.rouge2 /= n; mean.rougeL /= n
            return mean
        }
        let models = Set(results.map(\.model)).filter { !$0.isEmpty }.sorted()
        let backends = Set(results.map(\.backend)).filter { !$0.isEmpty }.sorted()
        return BenchScore(
            mode: mode, extraction: extraction, model: models.joined(separator: ", "),
            backend: backends.joined(separator: ", "), sources: sources, languages: ordered,
            items: items.map { $0! }, seconds: Date().timeIntervalSince(start))
    }

    func needsRationale(_ result: BenchResult) -> Bool {
        result.mode != "direct" && result.mode != "loglikelihood" && !result.referenceRationale.isEmpty
            && result.humanCheckPassed != false
    }

    public func scoreItem(_ result: BenchResult) -> ItemScore {
        // inference.py wrote responses with their newlines removed; the published numbers were computed on that.
        let response = mode == .published ? PythonText.replace(result.response, "\n", with: "") : result.response
        let answer = AnswerReader.answer(response, gold: result.gold, optionKeys: result.optionKeys, extraction: extraction)
        var item = ItemScore(id: result.id, language: result.language, predicted: answer.keys, correct: answer.correct, rationale: nil)
        guard needsRationale(result), let segmenter = try? segmenters.segmenter(for: result.language) else { return item }
        let candidate = AnswerReader.rationale(response, extraction: extraction)
        item.rationale = Self.rationaleScore(
            candidate: candidate, reference: result.referenceRationale, language: result.language, segmenter: segmenter)
        return item
    }

    /// rationale_similarity.py's computation: BLEU over the language's word segmentation; ROUGE over the raw text
    /// (en, es, fr, ru) or the segmented words joined by spaces (zh, ja).
    public static func rationaleScore(
        candidate: String, reference: String, language: Language, segmenter: any WordSegmenter
    ) -> RationaleScore {
        let candidateWords = segmenter.segment(candidate)
        let referenceWords = segmenter.segment(reference)
        var ids = TokenIDs()
        let hypothesis = ids.ids(candidateWords), ref = ids.ids(referenceWords)
        let bleu1 = BLEU.sentence(reference: ref, hypothesis: hypothesis, weights: BLEU.unigramWeights)
        let bleu4 = BLEU.sentence(reference: ref, hypothesis: hypothesis, weights: BLEU.defaultWeights)
        let rouge = language.isUnspaced
            ? ROUGE.scores(hypothesis: candidateWords.joined(separator: " "), reference: referenceWords.joined(separator: " "))
            : ROUGE.scores(hypothesis: candidate, reference: reference)
        return RationaleScore(
            bleu1: bleu1, bleu4: bleu4, rouge1: rouge?.rouge1.f ?? 0, rouge2: rouge?.rouge2.f ?? 0,
            rougeL: rouge?.rougeL.f ?? 0, empty: rouge == nil)
    }
}
