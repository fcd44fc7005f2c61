import Foundation
import MMedIO
import MMedText

/// `mmed bench prepare`: SFT data in the original's formats — both forms of every item (with rationale and direct
/// answer), shuffled with a seed — as Alpaca JSONL and as chat messages.
public struct SFTExport: Sendable {
    public struct Report: Sendable {
        public var items = 0
        public var records = 0
        /// Items without a rationale get only the direct form.
        public var withoutRationale = 0
    }

    public var seed: UInt64
    /// Appended to every target (e.g. `</s>`); by default none, as trainers append their tokenizer's EOS.
    public var eos: String
    public var variant: BenchPrompt.Variant

    public init(seed: UInt64 = 42, eos: String = "", variant: BenchPrompt.Variant = .training) {
        self.seed = seed
        self.eos = eos
        self.variant = variant
    }

    struct Record {
        var item: BenchItem
        var language: Language
        var withRationale: Bool
    }

    /// Writes `alpacaPath` and/or `chatPath` (atomically).
    public func write(_ files: [BenchFile], alpacaPath: String?, chatPath: String?) throws -> Report {
        var report = Report()
        var records: [Record] = []
        for file in files {
            for item in file.items {
                report.items += 1
                if item.rationale.isEmpty {
                    report.withoutRationale += 1
                } else {
                    records.append(Record(item: item, language: file.language, withRationale: true))
                }
                records.append(Record(item: item, language: file.language, withRationale: false))
            }
        }
        var generator = SplitMix64(seed: seed)
        generator.shuffle(&records)
        report.records = records.count
        if let alpacaPath {
            var text = ""
            for record in records {
                text += JSONValue.object([
                    ("instruction", .string(BenchPrompt.instruction(language: record.language, withRationale: record.withRationale, variant: variant))),
                    ("input", .string(BenchPrompt.input(record.item))),
                    ("output", .string(BenchPrompt.target(record.item, withRationale: record.withRationale) + eos)),
                    ("id", .string(record.item.id)), ("language", .string(record.language.rawValue)),
                    ("form", .string(record.withRationale ? "rationale" : "direct")),
                ]).jsonText + "\n"
            }
            try AtomicFileWriter.write(text, to: alpacaPath)
        }
        if let chatPath {
            var text = ""
            for record in records {
                let messages: [JSONValue] = [
                    .object([("role", .string("system")), ("content", .string(BenchPrompt.instruction(
                        language: record.language, withRationale: record.withRationale, variant: variant)))]),
                    .object([("role", .string("user")), ("content", .string(BenchPrompt.input(record.item)))]),
                    .object([("role", .string("assistant")), ("content", .string(BenchPrompt.target(record.item, withRationale: record.withRationale) + eos))]),
                ]
                text += JSONValue.object([
                    ("messages", .array(messages)), ("id", .string(record.item.id)), ("language", .string(record.language.rawValue)),
                    ("form", .string(record.withRationale ? "rationale" : "direct")),
                ]).jsonText + "\n"
            }
            try AtomicFileWriter.write(text, to: chatPath)
        }
        return report
    }
}

/// A small seeded generator (SplitMix64): the same seed gives the same shuffle on every platform and Swift version,
/// which the system generator does not promise.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Fisher–Yates with our own bounded draw, so the order never depends on the standard library's algorithm.
    public mutating func shuffle<T>(_ array: inout [T]) {
        guard array.count > 1 else { return }
        for i in stride(from: array.count - 1, to: 0, by: -1) {
            let bound = UInt64(i + 1)
            let limit = UInt64.max - UInt64.max % bound
            var draw = next()
            while draw >= limit { draw = next() }
            array.swapAt(i, Int(draw % bound))
        }
    }
}
