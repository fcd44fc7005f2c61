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
    /// The original's record set: an item without a rationale also gets the rationale form, with an empty rationale
    /// (`###Rationale: \n###Answer: …`), as finetune/train.py's `jsonl_load` builds it. By default it gets the direct
    /// form only.
    public var published: Bool

    public init(seed: UInt64 = 42, eos: String = "", variant: BenchPrompt.Variant = .training, published: Bool = false) {
        self.seed = seed
        self.eos = eos
        self.variant = variant
        self.published = published
    }

    /// One SFT example: the item in one form, and its texts.
    public struct Example: Sendable {
        public var item: BenchItem
        public var language: Language
        public var withRationale: Bool
        public var variant: BenchPrompt.Variant
        public var form: String { withRationale ? "rationale" : "direct" }
        public var instruction: String { BenchPrompt.instruction(language: language, withRationale: withRationale, variant: variant) }
        public var input: String { BenchPrompt.input(item) }
        /// The target, without any EOS.
        public var target: String { BenchPrompt.target(item, withRationale: withRationale) }
        /// The Alpaca `prompt_input` the original trains on: the part of each example that is not trained.
        public var source: String { BenchPrompt.alpaca(instruction: instruction, input: input) }
    }

    /// Both forms of every item (see `published`), shuffled with `seed`: the order of every output.
    public func examples(_ files: [BenchFile]) -> (examples: [Example], report: Report) {
        var report = Report()
        var records: [Example] = []
        for file in files {
            for item in file.items {
                report.items += 1
                if item.rationale.isEmpty { report.withoutRationale += 1 }
                if !item.rationale.isEmpty || published {
                    records.append(Example(item: item, language: file.language, withRationale: true, variant: variant))
                }
                records.append(Example(item: item, language: file.language, withRationale: false, variant: variant))
            }
        }
        var generator = SplitMix64(seed: seed)
        generator.shuffle(&records)
        report.records = records.count
        return (records, report)
    }

    /// Writes `alpacaPath` and/or `chatPath` (atomically).
    public func write(_ files: [BenchFile], alpacaPath: String?, chatPath: String?) throws -> Report {
        let (records, report) = examples(files)
        if let alpacaPath {
            var text = ""
            for record in records {
                text += JSONValue.object([
                    ("instruction", .string(record.instruction)),
                    ("input", .string(record.input)),
                    ("output", .string(record.target + eos)),
                    ("id", .string(record.item.id)), ("language", .string(record.language.rawValue)),
                    ("form", .string(record.form)),
                ]).jsonText + "\n"
            }
            try AtomicFileWriter.write(text, to: alpacaPath)
        }
        if let chatPath {
            var text = ""
            for record in records {
                let messages: [JSONValue] = [
                    .object([("role", .string("system")), ("content", .string(record.instruction))]),
                    .object([("role", .string("user")), ("content", .string(record.input))]),
                    .object([("role", .string("assistant")), ("content", .string(record.target + eos))]),
                ]
                text += JSONValue.object([
                    ("messages", .array(messages)), ("id", .string(record.item.id)), ("language", .string(record.language.rawValue)),
                    ("form", .string(record.form)),
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
