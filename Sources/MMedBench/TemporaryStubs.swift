// TEMPORARY until the segmenters land (deleted at merge).
import MMedText
struct NLTKWordTokenizer: WordSegmenter { init(punktModel: [UInt8], source: String) throws {}; func segment(_ text: String) -> [String] { PythonText.split(text) } }
struct JanomeSegmenter: WordSegmenter { init(packageFile: (String) throws -> [UInt8]) throws {}; func segment(_ text: String) -> [String] { text.unicodeScalars.map { String($0) } } }
