import MMedBench
import Testing

@Suite struct AnswerExtractionTests {
    func robust(_ response: String, _ gold: [String], keys: [String] = ["A", "B", "C", "D", "E"]) -> ExtractedAnswer {
        AnswerReader.answer(response, gold: gold, optionKeys: keys, extraction: .robust)
    }
    func published(_ response: String, _ gold: [String]) -> ExtractedAnswer {
        AnswerReader.answer(response, gold: gold, optionKeys: [], extraction: .published)
    }

    @Test func publishedOnlyUnderstandsTheEndOfSentenceTokenOfLlama2() {
        #expect(published("###Answer: OPTION C IS CORRECT.</s>", ["C"]).correct)
        // Llama 3's end token: the published replacement leaves "C IS CORRECT.<|eot_id|>", scored wrong.
        #expect(!published("###Answer: OPTION C IS CORRECT.<|eot_id|>", ["C"]).correct)
        #expect(published("###Answer: OPTION A,C IS CORRECT.</s>", ["C", "A"]).correct)
        #expect(!published("###Answer: OPTION A, C IS CORRECT.</s>", ["A", "C"]).correct)
    }

    @Test func robustReadsWhatModelsWrite() {
        #expect(robust("###Answer: OPTION C IS CORRECT.<|eot_id|>", ["C"]).correct)
        #expect(robust("###Answer: OPTION C IS CORRECT.<|end_of_text|>", ["C"]).correct)
        #expect(robust("###Rationale: because.\n###Answer: OPTION A, C IS CORRECT.</s>", ["A", "C"]).correct)
        #expect(robust("###Answer: OPTION C,A IS CORRECT.", ["A", "C"]).correct)
        #expect(!robust("###Answer: OPTION A IS CORRECT.", ["A", "C"]).correct)  // multi-answer: exact sets
        #expect(!robust("###Answer: OPTION A, B, C IS CORRECT.", ["A", "C"]).correct)
        #expect(robust("###answer: option b is correct.", ["B"]).correct)
        #expect(robust("###Answer: OPTION Ｂ IS CORRECT.", ["B"]).correct)  // full-width
        #expect(robust("###Answer: OPTION Ａ、Ｄ IS CORRECT.", ["A", "D"]).correct)
        #expect(robust("After weighing the options, the answer is (D).", ["D"]).correct)
        #expect(robust("答案是B", ["B"]).correct)
        #expect(robust("C", ["C"]).correct)
        #expect(robust("a, c", ["A", "C"]).correct)
        #expect(robust("B. Aspirin", ["B"]).correct)
        #expect(robust("###Answer: OPTION G IS CORRECT.", ["G"], keys: ["A", "B", "C", "D", "E", "F", "G", "H"]).correct)
    }

    @Test func unparseableAnswersAreWrongAndReported() {
        for response in ["", "I am not sure.", "###Answer: OPTION F IS CORRECT.", "###Answer: none of them"] {
            let answer = robust(response, ["A"])
            #expect(answer.keys == nil && !answer.correct, "\(response)")
        }
        #expect(AnswerReader.answer("a, c", gold: ["A", "C"], optionKeys: [], extraction: .exact).correct)
        #expect(AnswerReader.answer("a,x", gold: ["A"], optionKeys: [], extraction: .exact).keys == nil)
    }

    @Test func rationaleText() {
        let response = "###Rationale: It is B because of X.\n###Answer: OPTION B IS CORRECT.</s>"
        #expect(AnswerReader.rationale(response, extraction: .published) == "It is B because of X.")
        #expect(AnswerReader.rationale(response, extraction: .robust) == "It is B because of X.")
        #expect(AnswerReader.rationale("###Rationale: Only text<|eot_id|>", extraction: .robust) == "Only text")
    }
}
