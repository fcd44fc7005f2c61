/// Splits text into words the way a metric's reference implementation does (nltk `word_tokenize`, jieba, janome),
/// so that BLEU and ROUGE see exactly the tokens the Python scripts see.
public protocol WordSegmenter: Sendable {
    /// The words of `text`, in order.
    func segment(_ text: String) -> [String]
}
