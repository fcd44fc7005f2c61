import Foundation
import MMedIO
import MMedText

/// The word segmentation of each language, as the original scoring script chooses it: nltk `word_tokenize`
/// (English Punkt model + Treebank rules) for en, es, fr, ru; jieba for zh; janome for ja. Each is loaded once,
/// on first use, from the pinned Python package scripts/setup installs (their dictionaries are read as they are).
public final class Segmenters: @unchecked Sendable {
    // @unchecked: the cache is guarded by `lock`; segmenters are immutable and Sendable.
    private let lock = NSLock()
    private var loaded: [String: any WordSegmenter] = [:]
    private let load: @Sendable (String) throws -> any WordSegmenter

    /// Segmenters read from the installed packages (see `PythonPackages`).
    public init() {
        load = { name in
            switch name {
            case "nltk":
                let path = try PythonPackages.directory(of: "punkt") + "/data/english.py"
                return try NLTKWordTokenizer(punktModel: PythonPackages.read("data/english.py", of: "punkt"), source: path)
            case "jieba":
                return try JiebaSegmenter(packageFile: { try PythonPackages.read($0, of: "jieba") })
            default:
                return try JanomeSegmenter(packageFile: { try PythonPackages.read($0, of: "janome") })
            }
        }
    }

    /// Custom segmenters (tests): `make` gets "nltk", "jieba" or "janome".
    public init(make: @escaping @Sendable (String) throws -> any WordSegmenter) {
        load = make
    }

    public static func packageName(for language: Language) -> String {
        switch language {
        case .zh: "jieba"
        case .ja: "janome"
        default: "nltk"
        }
    }

    public func segmenter(for language: Language) throws -> any WordSegmenter {
        let name = Self.packageName(for: language)
        lock.lock()
        defer { lock.unlock() }
        if let segmenter = loaded[name] { return segmenter }
        let segmenter = try load(name)
        loaded[name] = segmenter
        return segmenter
    }
}
