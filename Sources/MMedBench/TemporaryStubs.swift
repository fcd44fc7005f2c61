// TEMPORARY until the segmenters land (deleted at merge).
import MMedText
struct NLTKWordTokenizer: WordSegmenter { init(punktModel: [UInt8], source: String) throws {}; func segment(_ text: String) -> [String] { PythonText.split(text) } }
