import MMedText

/// The prompt formats of the original MMedLM scripts, byte for byte (finetune/train.py and inference/inference.py).
public enum BenchPrompt {
    /// Alpaca's `prompt_input`.
    public static func alpaca(instruction: String, input: String) -> String {
        "Below is an instruction that describes a task, paired with an input that provides further context. "
            + "Write a response that appropriately completes the request.\n\n"
            + "### Instruction:\n\(instruction)\n\n### Input:\n\(input)\n\n### Response:"
    }

    /// Which of the original instruction texts: training's, or inference's (which has two spaces after
    /// "step-by-step."; both spell "Let’s" with a curly apostrophe and "You're" with a straight one).
    public enum Variant: String, Sendable, CaseIterable {
        case training, inference
    }

    /// `{lang}` is the release file's name: English, Chinese, Japanese, French, Russian, Spanish.
    public static func instruction(language: Language, withRationale: Bool, variant: Variant = .training) -> String {
        let lang = language.englishName
        guard withRationale else {
            return "You're a \(lang) doctor, kindly address the medical queries according to the patient's account. "
                + "Answer with the best option directly."
        }
        let gap = variant == .training ? " " : "  "
        return "You're a \(lang) doctor, kindly address the medical queries according to the patient's account in \(lang). "
            + "Let\u{2019}s solve this step-by-step.\(gap)You should first give the reason in \(lang) for your choice. "
            + "Then you should give the right answer index of the question."
    }

    /// `###Question: {q} Which of the following is the best treatment for this patient? ###Options: A. … B. … `
    /// (every option followed by a space).
    public static func input(_ item: BenchItem) -> String {
        var options = ""
        for option in item.options { options += "\(option.key). \(option.text) " }
        return "###Question: \(item.question) Which of the following is the best treatment for this patient? ###Options: \(options)"
    }

    /// The training target, without the tokenizer's EOS (the trainer appends it).
    public static func target(_ item: BenchItem, withRationale: Bool) -> String {
        withRationale
            ? "###Rationale: \(item.rationale)\n###Answer: OPTION \(item.answerIDs) IS CORRECT."
            : "###Answer: OPTION \(item.answerIDs) IS CORRECT."
    }

    /// The whole prompt a model sees for `item`.
    public static func prompt(_ item: BenchItem, language: Language, withRationale: Bool, variant: Variant) -> String {
        alpaca(instruction: instruction(language: language, withRationale: withRationale, variant: variant), input: input(item))
    }
}
