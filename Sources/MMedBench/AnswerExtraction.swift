import Foundation
import MMedText

/// How a response's chosen options and rationale are read.
public enum AnswerExtraction: String, Sendable, CaseIterable {
    /// metrics/accuracy.py and rationale_similarity.py as published: strip `###Answer: OPTION ` and
    /// `IS CORRECT.</s>` and compare what is left, so any other end token (Llama 3's `<|eot_id|>`) or trailing text
    /// makes the answer wrong.
    case published
    /// End tokens of every supported family, `OPTION A, C IS CORRECT`, lower case, full-width letters, "the answer
    /// is B", a bare letter list, answers surrounded by other text.
    case robust
    /// The response is nothing but the option keys, comma-separated (other tools' prediction files such as IgakuQA's
    /// baseline_results): split on ",", each piece stripped and upper-cased, compared as a set.
    case exact
}

/// The end-of-sequence markers a decoded response may carry (Llama 2/Mistral/InternLM2, Llama 3, ChatML, GPT-2).
let endMarkers = ["</s>", "<|eot_id|>", "<|end_of_text|>", "<|im_end|>", "<|endoftext|>", "<eos>", "<|end|>", "<eoa>"]

public struct ExtractedAnswer: Sendable, Equatable {
    /// The chosen option keys, upper case, in the order given; nil when no answer could be read.
    public var keys: [String]?
    public var correct: Bool
}

public enum AnswerReader {
    /// Reads the answer of `response` and compares it with `gold` as an exact set.
    public static func answer(
        _ response: String, gold: [String], optionKeys: [String], extraction: AnswerExtraction
    ) -> ExtractedAnswer {
        switch extraction {
        case .published:
            // accuracy.py: the replacement, then `==` for a one-character gold string, sets of ","-pieces otherwise.
            let stripped = PythonText.strip(
                PythonText.replace(PythonText.replace(response, "###Answer: OPTION ", with: ""), "IS CORRECT.</s>", with: ""))
            let goldText = gold.joined(separator: ",")
            let correct: Bool
            if goldText.unicodeScalars.count == 1 {
                correct = PythonText.equal(stripped, goldText)
            } else {
                correct = Set(PythonText.split(stripped, separator: ",")) == Set(PythonText.split(goldText, separator: ","))
            }
            let looksLikeKeys = PythonText.split(stripped, separator: ",").allSatisfy { $0.count == 1 && $0 != " " }
            return ExtractedAnswer(keys: looksLikeKeys && !stripped.isEmpty ? PythonText.split(stripped, separator: ",") : nil, correct: correct)
        case .exact:
            let keys = PythonText.split(PythonText.strip(cutAtEndMarker(response)), separator: ",").map { PythonText.strip($0).uppercased() }
            let allowed = Set(optionKeys.isEmpty ? ["A", "B", "C", "D", "E"] : optionKeys.map { $0.uppercased() })
            guard keys.allSatisfy(allowed.contains) else { return ExtractedAnswer(keys: nil, correct: false) }
            return ExtractedAnswer(keys: keys, correct: Set(keys) == Set(gold.map { $0.uppercased() }))
        case .robust:
            let allowed = optionKeys.isEmpty ? ["A", "B", "C", "D", "E"] : optionKeys.map { $0.uppercased() }
            guard let keys = robustKeys(response, allowed: allowed) else { return ExtractedAnswer(keys: nil, correct: false) }
            return ExtractedAnswer(keys: keys, correct: Set(keys) == Set(gold.map { $0.uppercased() }))
        }
    }

    /// The rationale part of a response, as the metrics compare it with the reference.
    public static func rationale(_ response: String, extraction: AnswerExtraction) -> String {
        switch extraction {
        case .published, .exact:
            // rationale_similarity.py: before "###Answer: OPTION ", without "###Rationale: ", stripped.
            let head = PythonText.split(response, separator: "###Answer: OPTION ")[0]
            return PythonText.strip(PythonText.replace(head, "###Rationale: ", with: ""))
        case .robust:
            var text = cutAtEndMarker(response)
            if let range = text.range(of: "###Answer") { text = String(text[..<range.lowerBound]) }
            text = PythonText.strip(text)
            if text.hasPrefix("###Rationale:") { text = String(text.dropFirst("###Rationale:".count)) }
            return PythonText.strip(text)
        }
    }

    static func cutAtEndMarker(_ text: String) -> String {
        var cut = text.endIndex
        for marker in endMarkers {
            if let range = text.range(of: marker), range.lowerBound < cut { cut = range.lowerBound }
        }
        return String(text[..<cut])
    }

    /// Full-width ASCII to ASCII, ideographic commas and spaces to ASCII ones.
    static func normalize(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0xFF01...0xFF5E: scalars.append(Unicode.Scalar(scalar.value - 0xFEE0)!)
            case 0x3001, 0xFF64: scalars.append(",")  // 、 and the half-width ideographic comma
            case 0x3000: scalars.append(" ")
            default: scalars.append(scalar)
            }
        }
        return String(scalars)
    }

    private static let letterList = #"([A-Ja-j](?:\s*(?:,|and|&|/|\+|or)\s*[A-Ja-j])*)"#
    private static let patterns: [NSRegularExpression] = [
        // OPTION A IS CORRECT / OPTIONS A, C ARE CORRECT / Option: b is correct
        #"options?\s*[:.]?\s*\(?"# + letterList + #"\)?\s*(?:is|are)\s+(?:the\s+)?correct"#,
        // the answer is (B) / Answer: option C / answers: A, D / 答案是B / 正解はC / réponse : A
        #"(?:answers?|答案|正确答案|正解|答え|解答|réponses?|ответ|respuestas?)\s*(?:is|are|:|是|为|為|は|：)?\s*[:：]?\s*(?:options?\s*|选项\s*)?\(?"#
            + letterList + #"\)?(?![A-Za-z])"#,
        // the whole text is a letter list: "C", "a, c", "(B)."
        #"^\s*\(?"# + letterList + #"\)?\s*\.?\s*$"#,
        // the text starts with an option: "B. Aspirin", "C) ...", "A: ..."
        #"^\s*\(?([A-J])(?:[.):]|\s*$)"#,
    ].map { try! NSRegularExpression(pattern: $0, options: [.caseInsensitive]) }

    static func robustKeys(_ response: String, allowed: [String]) -> [String]? {
        var text = normalize(cutAtEndMarker(response))
        if let range = text.range(of: "###Answer", options: [.caseInsensitive, .backwards]) {
            text = String(text[range.upperBound...])
        }
        let nsText = text as NSString
        for pattern in patterns {
            // The last match: a response that reasons first usually states its answer at the end.
            guard let match = pattern.matches(in: text, range: NSRange(location: 0, length: nsText.length)).last else { continue }
            let list = nsText.substring(with: match.range(at: 1))
            let keys = singleLetters(in: list)
            guard !keys.isEmpty, keys.allSatisfy(allowed.contains) else { continue }
            var unique: [String] = []
            for key in keys where !unique.contains(key) { unique.append(key) }
            return unique
        }
        return nil
    }

    /// The option letters of a matched list like "A, c and E": the letters standing alone between separators.
    static func singleLetters(in list: String) -> [String] {
        var keys: [String] = []
        var word = ""
        func flush() {
            if word.count == 1 { keys.append(word.uppercased()) }
            word = ""
        }
        for character in list {
            if character.isLetter { word.append(character) } else { flush() }
        }
        flush()
        return keys
    }
}
