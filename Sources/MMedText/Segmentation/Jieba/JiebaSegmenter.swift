/// jieba 0.42.1's default segmentation, `list(jieba.cut(text))` (accurate mode, HMM on), token for token.
///
/// It reads the data files of the installed jieba package as they are (dict.txt and finalseg's prob_*.py) and works
/// on Unicode scalars, as jieba works on Python `str` code points. Steps, each as jieba does them:
/// 1. `re_han_default` splits the text into runs of `[\u4E00-\u9FD5a-zA-Z0-9+#&._%-]` and the rest. The rest comes
///    out one code point per token, except that `\r\n` stays one token (`re_skip_default`).
/// 2. A run gets `get_DAG` over the prefix dictionary and the `calc` route of highest log probability.
/// 3. `__cut_DAG` keeps the route's words of two or more characters; consecutive single characters are joined and,
///    unless the join is itself a dictionary word, handed to finalseg: its HMM for han runs, `re_skip` for the rest.
public struct JiebaSegmenter: WordSegmenter {
    let dictionary: JiebaPrefixDictionary
    let model: JiebaHiddenMarkovModel

    /// The package files this segmenter reads, relative to the jieba package folder.
    public static let packageFiles = ["dict.txt", "finalseg/prob_start.py", "finalseg/prob_trans.py", "finalseg/prob_emit.py"]

    /// Loads jieba's data; `packageFile` returns the bytes of a file given its path relative to the jieba package
    /// folder (one of `packageFiles`). Malformed data throws `JiebaDataError` naming the file and line.
    public init(packageFile: (String) throws -> [UInt8]) throws {
        dictionary = try JiebaPrefixDictionary(dictTxt: packageFile("dict.txt"), file: "dict.txt")
        let files = (start: "finalseg/prob_start.py", transition: "finalseg/prob_trans.py", emission: "finalseg/prob_emit.py")
        model = try JiebaHiddenMarkovModel(
            start: packageFile(files.start), transition: packageFile(files.transition),
            emission: packageFile(files.emission), files: files)
    }

    public func segment(_ text: String) -> [String] {
        var text = text
        return text.withUTF8 { utf8 in
            var cut = Cut(utf8: utf8, dictionary: dictionary, model: model)
            cut.run()
            return cut.tokens
        }
    }

    /// Whether `scalar` is in `re_han_default`'s class `[\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]`.
    @inline(__always)
    static func isBlockCharacter(_ scalar: UInt32) -> Bool {
        scalar < 0x80 ? asciiBlockCharacters[Int(scalar)] : JiebaHiddenMarkovModel.hanRange.contains(scalar)
    }

    private static let asciiBlockCharacters: [Bool] = (0..<128).map { value in
        let scalar = Unicode.Scalar(UInt8(value))
        return ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
            || "+#&._%-".unicodeScalars.contains(scalar)
    }

    @inline(__always)
    static func isASCIIAlphanumeric(_ scalar: UInt32) -> Bool {
        (scalar &- 0x30) < 10 || ((scalar | 0x20) &- 0x61) < 26
    }

    @inline(__always)
    static func isASCIIDigit(_ scalar: UInt32) -> Bool { (scalar &- 0x30) < 10 }
}

extension JiebaSegmenter {
    /// One `segment` call: the text's scalars with their UTF-8 offsets (tokens are slices of the UTF-8), the tokens
    /// so far, and buffers reused across the text's runs.
    private struct Cut {
        let utf8: UnsafeBufferPointer<UInt8>
        let dictionary: JiebaPrefixDictionary
        let model: JiebaHiddenMarkovModel
        var scalars: [UInt32] = []
        /// UTF-8 offset of each scalar, and of the end.
        var offsets: [Int] = []
        var tokens: [String] = []
        /// `route[idx]` of `calc`: the best score from idx on, and the last index of the word starting at idx.
        var routeScore: [Double] = []
        var routeEnd: [Int] = []
        var viterbi = JiebaHiddenMarkovModel.ViterbiScratch()

        init(utf8: UnsafeBufferPointer<UInt8>, dictionary: JiebaPrefixDictionary, model: JiebaHiddenMarkovModel) {
            self.utf8 = utf8
            self.dictionary = dictionary
            self.model = model
            scalars.reserveCapacity(utf8.count)
            offsets.reserveCapacity(utf8.count + 1)
            if let base = utf8.baseAddress {
                // A Swift string is valid UTF-8.
                var index = 0
                while index < utf8.count {
                    let length = utf8SequenceLength(base, index, utf8.count)
                    scalars.append(PythonText.decode(base, index, length))
                    offsets.append(index)
                    index += length
                }
            }
            offsets.append(utf8.count)
            tokens.reserveCapacity(scalars.count / 2 + 1)
        }

        /// The text of scalars `start..<end` as a token.
        @inline(__always)
        mutating func emit(_ start: Int, _ end: Int) {
            tokens.append(String(decoding: UnsafeBufferPointer(rebasing: utf8[offsets[start]..<offsets[end]]), as: UTF8.self))
        }

        /// `Tokenizer.cut`: blocks of `re_han_default` go to `__cut_DAG`; other text is split by `re_skip_default`
        /// `(\r\n|\s)` into whitespace pieces and the code points between them, all single code points but `\r\n`.
        mutating func run() {
            let count = scalars.count
            var index = 0
            while index < count {
                var end = index + 1
                if JiebaSegmenter.isBlockCharacter(scalars[index]) {
                    while end < count && JiebaSegmenter.isBlockCharacter(scalars[end]) { end += 1 }
                    cutBlock(index, end)
                } else {
                    while end < count && !JiebaSegmenter.isBlockCharacter(scalars[end]) { end += 1 }
                    var position = index
                    while position < end {
                        let pair = scalars[position] == 0x0D && position + 1 < end && scalars[position + 1] == 0x0A
                        let next = position + (pair ? 2 : 1)
                        emit(position, next)
                        position = next
                    }
                }
                index = end
            }
        }

        /// `__cut_DAG` of the block `start..<end`.
        mutating func cutBlock(_ start: Int, _ end: Int) {
            let length = end - start
            computeRoute(start, length)
            var x = 0
            var bufferStart = -1  // `buf`: the pending single characters, from here to x
            while x < length {
                let y = routeEnd[x] + 1
                if y - x == 1 {
                    if bufferStart < 0 { bufferStart = x }
                } else {
                    if bufferStart >= 0 {
                        flushSingles(start + bufferStart, start + x)
                        bufferStart = -1
                    }
                    emit(start + x, start + y)
                }
                x = y
            }
            if bufferStart >= 0 { flushSingles(start + bufferStart, end) }
        }

        /// `get_DAG` and `calc` over `scalars[start..<start+length]`, right to left, into `routeScore`/`routeEnd`.
        mutating func computeRoute(_ start: Int, _ length: Int) {
            if routeScore.count < length + 1 {
                routeScore = Array(repeating: 0, count: length + 1)
                routeEnd = Array(repeating: 0, count: length + 1)
            }
            let dictionary = dictionary
            let logTotal = dictionary.logTotal
            scalars.withUnsafeBufferPointer { scalars in
                dictionary.wordLogProbability.withUnsafeBufferPointer { wordLogProbability in
                    routeScore.withUnsafeMutableBufferPointer { routeScore in
                        routeEnd.withUnsafeMutableBufferPointer { routeEnd in
                            routeScore[length] = 0
                            routeEnd[length] = 0
                            for idx in stride(from: length - 1, through: 0, by: -1) {
                                // max((log(FREQ.get(word) or 1) - logtotal + route[x + 1][0], x) for x in DAG[idx]):
                                // the candidates come in increasing x, so `>=` lets a tie go to the larger x.
                                var bestScore = 0.0
                                var bestEnd = -1
                                var node = JiebaPrefixDictionary.root
                                var x = idx
                                while x < length, let next = dictionary.child(of: node, scalars[start + x]) {
                                    node = next
                                    let wordScore = wordLogProbability[Int(node)]
                                    if !wordScore.isNaN {
                                        let score = wordScore + routeScore[x + 1]
                                        if bestEnd < 0 || score >= bestScore {
                                            bestScore = score
                                            bestEnd = x
                                        }
                                    }
                                    x += 1
                                }
                                if bestEnd < 0 {
                                    // DAG[idx] = [idx] for a character that is no word: log(1) - logtotal.
                                    bestScore = (0.0 - logTotal) + routeScore[idx + 1]
                                    bestEnd = idx
                                }
                                routeScore[idx] = bestScore
                                routeEnd[idx] = bestEnd
                            }
                        }
                    }
                }
            }
        }

        /// The pending single characters `start..<end` of `__cut_DAG`: one is a token; several that together make
        /// a dictionary word come out one by one; otherwise `finalseg.cut` splits them.
        mutating func flushSingles(_ start: Int, _ end: Int) {
            if end - start == 1 {
                emit(start, end)
                return
            }
            let isWord = scalars.withUnsafeBufferPointer { dictionary.isWord(UnsafeBufferPointer(rebasing: $0[start..<end])) }
            if isWord {
                for index in start..<end { emit(index, index + 1) }
            } else {
                finalsegCut(start, end)
            }
        }

        /// `finalseg.cut`: han runs `[\u4E00-\u9FD5]+` go to the Viterbi; the rest is split by
        /// `re_skip = ([a-zA-Z0-9]+(?:\.\d+)?%?)` into matches and the non-empty pieces between them. Only
        /// `re_han_default` characters get here, so `\d` (any Unicode digit in Python) can only meet ASCII digits.
        mutating func finalsegCut(_ start: Int, _ end: Int) {
            var index = start
            while index < end {
                var runEnd = index + 1
                if JiebaHiddenMarkovModel.hanRange.contains(scalars[index]) {
                    while runEnd < end && JiebaHiddenMarkovModel.hanRange.contains(scalars[runEnd]) { runEnd += 1 }
                    let runStart = index
                    var words: [(Int, Int)] = []
                    scalars.withUnsafeBufferPointer { scalars in
                        model.cut(UnsafeBufferPointer(rebasing: scalars[runStart..<runEnd]), scratch: &viterbi) { wordStart, wordEnd in
                            words.append((runStart + wordStart, runStart + wordEnd))
                        }
                    }
                    for (wordStart, wordEnd) in words { emit(wordStart, wordEnd) }
                } else {
                    while runEnd < end && !JiebaHiddenMarkovModel.hanRange.contains(scalars[runEnd]) { runEnd += 1 }
                    splitSkip(index, runEnd)
                }
                index = runEnd
            }
        }

        /// `re_skip.split` of `start..<end`, keeping the matches and dropping empty pieces.
        mutating func splitSkip(_ start: Int, _ end: Int) {
            var pieceStart = start
            var index = start
            while index < end {
                guard JiebaSegmenter.isASCIIAlphanumeric(scalars[index]) else {
                    index += 1
                    continue
                }
                var matchEnd = index + 1
                while matchEnd < end && JiebaSegmenter.isASCIIAlphanumeric(scalars[matchEnd]) { matchEnd += 1 }
                if matchEnd + 1 < end && scalars[matchEnd] == 0x2E && JiebaSegmenter.isASCIIDigit(scalars[matchEnd + 1]) {
                    matchEnd += 2
                    while matchEnd < end && JiebaSegmenter.isASCIIDigit(scalars[matchEnd]) { matchEnd += 1 }
                }
                if matchEnd < end && scalars[matchEnd] == 0x25 { matchEnd += 1 }
                if pieceStart < index { emit(pieceStart, index) }
                emit(index, matchEnd)
                index = matchEnd
                pieceStart = matchEnd
            }
            if pieceStart < end { emit(pieceStart, end) }
        }
    }
}
