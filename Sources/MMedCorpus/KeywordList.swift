import Foundation
import MMedIO
import MMedText

/// The MKC and DENS thresholds a document must reach to be kept.
public struct Thresholds: Sendable, Codable, Equatable {
    public var minKeywordCount: Int
    public var minDensity: Double

    public init(minKeywordCount: Int, minDensity: Double) {
        self.minKeywordCount = minKeywordCount
        self.minDensity = minDensity
    }

    /// The paper's thresholds (MMedLM `filter.py`), tuned on CulturaX.
    public static func paper(_ language: Language) -> Thresholds? {
        switch language {
        case .en: Thresholds(minKeywordCount: 5, minDensity: 0.04)
        case .zh, .ja: Thresholds(minKeywordCount: 5, minDensity: 0.05)
        case .ru: Thresholds(minKeywordCount: 4, minDensity: 0.02)
        case .es, .fr: Thresholds(minKeywordCount: 4, minDensity: 0.04)
        case .de, .ar: nil
        }
    }
}

/// How keywords are prepared and matched.
public enum MatchMode: String, Sendable, Codable, CaseIterable {
    /// The paper's intent: keywords lower-cased then de-duplicated; zh and ja match every keyword as a substring.
    case paper
    /// The published code: de-duplicated before lower-casing (case variants count twice), and the
    /// space-delimited path for every language (it never matches unspaced zh/ja text).
    case published
}

public struct KeywordListError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// A list of medical keywords as loaded, before lower-casing and de-duplication.
public struct KeywordList: Sendable {
    /// Where the list came from: `mmedkit:en`, `mmedlm:fr (file)`, or a file path.
    public var name: String
    public var keywords: [String]
    /// Thresholds the list carries (the MMedLM JSON, or a `# threshold: mkc=N dens=X` line), if any.
    public var thresholds: Thresholds?

    public init(name: String, keywords: [String], thresholds: Thresholds? = nil) {
        self.name = name
        self.keywords = keywords
        self.thresholds = thresholds
    }

    /// MMedKit's own list for `language`, compiled into the binary (see scripts/embed-keywords).
    public static func bundled(_ language: Language) throws -> KeywordList {
        guard let text = embeddedKeywordLists[language.rawValue] else {
            throw KeywordListError(message: "no bundled keyword list for '\(language.rawValue)'")
        }
        var list = try parse(text, name: "mmedkit:\(language.rawValue)")
        if list.thresholds == nil { list.thresholds = Thresholds.paper(language) }
        return list
    }

    /// A plain-text list: one keyword per line, `#` comments, blank lines ignored.
    public static func load(path: String) throws -> KeywordList {
        let bytes: [UInt8]
        do { bytes = try readWholeFile(path) } catch let error as MMedIOError {
            throw KeywordListError(message: "keyword list \(error)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw KeywordListError(message: "keyword list \(path): not valid UTF-8")
        }
        return try parse(text, name: path)
    }

    static func parse(_ text: String, name: String) throws -> KeywordList {
        var keywords: [String] = []
        var thresholds: Thresholds?
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = pythonStrip(rawLine)
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                let body = line.dropFirst().trimmingCharacters(in: .whitespaces)
                if body.hasPrefix("threshold:") {
                    thresholds = try parseThresholdLine(String(body.dropFirst("threshold:".count)), file: name, line: index + 1)
                }
                continue
            }
            keywords.append(line)
        }
        if keywords.isEmpty {
            throw KeywordListError(message: "keyword list \(name): no keywords found")
        }
        return KeywordList(name: name, keywords: keywords, thresholds: thresholds)
    }

    private static func parseThresholdLine(_ text: String, file: String, line: Int) throws -> Thresholds {
        var mkc: Int?
        var dens: Double?
        for part in text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }) {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            switch pair[0] {
            case "mkc": mkc = Int(pair[1])
            case "dens", "density": dens = Double(pair[1])
            default: break
            }
        }
        guard let mkc, let dens else {
            throw KeywordListError(message: "keyword list \(file):\(line): expected '# threshold: mkc=N dens=X'")
        }
        return Thresholds(minKeywordCount: mkc, minDensity: dens)
    }

    /// The original MMedLM lists and thresholds from a JSON file shaped like `mmedlm-keywords.json`
    /// (`keywords.<code>.{medical_biology_words,medical_words}`, `thresholds.<code>.{mkc,dens}`; `jp` = Japanese).
    public static func mmedlm(jsonPath: String, language: Language) throws -> KeywordList {
        let bytes: [UInt8]
        do { bytes = try readWholeFile(jsonPath) } catch let error as MMedIOError {
            throw KeywordListError(message: "MMedLM keyword file \(error)")
        }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: Data(bytes)) } catch {
            throw KeywordListError(message: "MMedLM keyword file \(jsonPath): not valid JSON (\(error.localizedDescription))")
        }
        let code = language == .ja ? "jp" : language.rawValue
        guard let root = object as? [String: Any],
              let allKeywords = root["keywords"] as? [String: Any] else {
            throw KeywordListError(message: "MMedLM keyword file \(jsonPath): missing object \"keywords\"")
        }
        guard let lists = (allKeywords[code] ?? allKeywords[language.rawValue]) as? [String: Any] else {
            let available = allKeywords.keys.sorted().joined(separator: ", ")
            throw KeywordListError(message: "MMedLM keyword file \(jsonPath): no keywords for '\(code)' (it has: \(available)); the original lists cover en, zh, ja (jp), fr, ru, es")
        }
        var keywords: [String] = []
        for field in ["medical_biology_words", "medical_words"] {
            guard let list = lists[field] as? [String] else {
                throw KeywordListError(message: "MMedLM keyword file \(jsonPath): field \"keywords.\(code).\(field)\" is missing or not a list of strings")
            }
            keywords += list
        }
        var thresholds: Thresholds?
        if let table = root["thresholds"] as? [String: Any], let entry = (table[code] ?? table[language.rawValue]) as? [String: Any],
           let mkc = (entry["mkc"] as? NSNumber)?.intValue, let dens = (entry["dens"] as? NSNumber)?.doubleValue {
            thresholds = Thresholds(minKeywordCount: mkc, minDensity: dens)
        }
        return KeywordList(name: "mmedlm:\(language.rawValue) (\(jsonPath))", keywords: keywords, thresholds: thresholds)
    }

    /// Keywords as the matcher uses them (see `MatchMode`).
    public func prepared(mode: MatchMode) -> [String] {
        switch mode {
        case .paper:
            // Compare code points, as Python does (Swift's `String ==` treats canonical equivalents as equal).
            var seen = Set<[UInt8]>()
            var result: [String] = []
            for keyword in keywords {
                let lowered = PythonText.lowercased(keyword)
                if !lowered.isEmpty && seen.insert(Array(lowered.utf8)).inserted { result.append(lowered) }
            }
            return result
        case .published:
            var seen = Set<[UInt8]>()
            var result: [String] = []
            for keyword in keywords where seen.insert(Array(keyword.utf8)).inserted {
                let lowered = PythonText.lowercased(keyword)
                if !lowered.isEmpty { result.append(lowered) }
            }
            return result
        }
    }

    /// SHA-256 of the prepared keywords joined by "\n": identifies the list in statistics.
    public func digest(mode: MatchMode) -> String {
        SHA256.hex(Array(prepared(mode: mode).joined(separator: "\n").utf8))
    }
}

/// Python's `str.strip()`: removes leading and trailing `str.isspace()` characters.
func pythonStrip(_ text: Substring) -> String {
    let scalars = text.unicodeScalars
    guard let first = scalars.firstIndex(where: { !PythonText.isWhitespace($0.value) }),
          let last = scalars.lastIndex(where: { !PythonText.isWhitespace($0.value) }) else { return "" }
    return String(scalars[first...last])
}

/// The original's long/short split: long keywords are counted as substrings, short ones as whole tokens.
public func isLongKeyword(_ keyword: String) -> Bool {
    let length = PythonText.codePointCount(keyword)
    return length > 10 || (length > 5 && PythonText.split(keyword).count > 1)
}
