import MMedText

/// ROUGE exactly as the PyPI package `rouge` 1.0.1 computes `Rouge().get_scores(hypothesis, reference)[0]`: both
/// texts are cut into sentences at every ".", each sentence's whitespace collapsed to single spaces, words are what
/// `split(" ")` gives; ROUGE-N counts unique n-grams (sets, `exclusive=True`), ROUGE-L is the summary-level union
/// LCS over unique words, and F is `2 * (p * r) / (p + r + 1e-8)`.
public enum ROUGE {
    public struct Score: Sendable, Equatable {
        public var f: Double
        public var p: Double
        public var r: Double
    }

    public struct Scores: Sendable, Equatable {
        public var rouge1: Score
        public var rouge2: Score
        public var rougeL: Score
    }

    /// nil where the Python package raises ("Hypothesis is empty." / "Reference is empty."): a text with nothing
    /// but dots.
    public static func scores(hypothesis: String, reference: String) -> Scores? {
        var ids = TokenIDs()
        let hyp = sentences(hypothesis).map { ids.ids(PythonText.split($0, separator: " ")) }
        let ref = sentences(reference).map { ids.ids(PythonText.split($0, separator: " ")) }
        guard !hyp.isEmpty, !ref.isEmpty else { return nil }
        return Scores(
            rouge1: rougeN(hyp, ref, n: 1),
            rouge2: rougeN(hyp, ref, n: 2),
            rougeL: rougeL(hypothesis: hyp, reference: ref))
    }

    /// `[" ".join(s.split()) for s in text.split(".") if len(s) > 0]`
    static func sentences(_ text: String) -> [String] {
        PythonText.split(text, separator: ".").filter { !$0.isEmpty }.map { PythonText.split($0).joined(separator: " ") }
    }

    static func fScore(_ p: Double, _ r: Double) -> Double { 2.0 * ((p * r) / (p + r + 1e-8)) }

    static func rougeN(_ hypothesis: [[Int32]], _ reference: [[Int32]], n: Int) -> Score {
        func grams(_ sentences: [[Int32]]) -> Set<NGram> {
            let words = Array(sentences.joined())
            var set = Set<NGram>()
            if words.count >= n { for start in 0...(words.count - n) { set.insert(NGram(words, start, n)) } }
            return set
        }
        let h = grams(hypothesis), r = grams(reference)
        let overlap = h.intersection(r).count
        let precision = h.isEmpty ? 0.0 : Double(overlap) / Double(h.count)
        let recall = r.isEmpty ? 0.0 : Double(overlap) / Double(r.count)
        return Score(f: fScore(precision, recall), p: precision, r: recall)
    }

    static func rougeL(hypothesis: [[Int32]], reference: [[Int32]]) -> Score {
        let m = Set(reference.joined()).count
        let n = Set(hypothesis.joined()).count
        // The union of the words of the reconstructed LCS of every (reference sentence, hypothesis sentence) pair;
        // the package's running "new words" counts add up to the size of this union.
        var union = Set<Int32>()
        var table: [Int32] = []
        for referenceWords in reference {
            for hypothesisWords in hypothesis {
                lcsWords(referenceWords, hypothesisWords, table: &table) { union.insert($0) }
            }
        }
        let llcs = Double(union.count)
        let recall = llcs / Double(m)
        let precision = llcs / Double(n)
        return Score(f: fScore(precision, recall), p: precision, r: recall)
    }

    /// The words of the LCS of `x` and `y` as the package reconstructs it: from the end, a match is taken, else it
    /// moves up when `table[i-1][j] > table[i][j-1]`, left otherwise.
    static func lcsWords(_ x: [Int32], _ y: [Int32], table: inout [Int32], _ body: (Int32) -> Void) {
        let rows = x.count + 1, columns = y.count + 1
        table.removeAll(keepingCapacity: true)
        table.append(contentsOf: repeatElement(0, count: rows * columns))
        for i in 1..<rows {
            for j in 1..<columns {
                table[i * columns + j] = x[i - 1] == y[j - 1]
                    ? table[(i - 1) * columns + j - 1] + 1
                    : max(table[(i - 1) * columns + j], table[i * columns + j - 1])
            }
        }
        var i = x.count, j = y.count
        while i > 0 && j > 0 {
            if x[i - 1] == y[j - 1] {
                body(x[i - 1])
                i -= 1
                j -= 1
            } else if table[(i - 1) * columns + j] > table[i * columns + j - 1] {
                i -= 1
            } else {
                j -= 1
            }
        }
    }
}
