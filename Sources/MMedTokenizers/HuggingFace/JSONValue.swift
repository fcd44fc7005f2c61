import Foundation

/// Typed access to the `[String: Any]` trees JSONSerialization gives, with errors that name the JSON path.
struct JSONObject {
    let values: [String: Any]
    let path: String
    let file: String

    init(_ any: Any?, path: String, file: String) throws {
        guard let values = any as? [String: Any] else {
            throw TokenizerError(.malformed, file: file, "\(path): expected a JSON object")
        }
        self.values = values; self.path = path; self.file = file
    }

    func has(_ key: String) -> Bool { if let value = values[key], !(value is NSNull) { return true }; return false }

    func string(_ key: String) throws -> String {
        guard let value = values[key] as? String else { throw error("\(key): expected a string") }
        return value
    }
    func optionalString(_ key: String) -> String? { values[key] as? String }

    func bool(_ key: String, default fallback: Bool) -> Bool {
        if let value = values[key] as? Bool { return value }
        if let value = values[key] as? NSNumber { return value.boolValue }
        return fallback
    }

    func int(_ key: String) throws -> Int {
        guard let value = values[key] as? NSNumber else { throw error("\(key): expected a number") }
        return value.intValue
    }
    func optionalInt(_ key: String) -> Int? { (values[key] as? NSNumber)?.intValue }

    func object(_ key: String) throws -> JSONObject { try JSONObject(values[key], path: "\(path).\(key)", file: file) }
    func optionalObject(_ key: String) throws -> JSONObject? {
        guard has(key) else { return nil }
        return try object(key)
    }

    func array(_ key: String) throws -> [Any] {
        guard let value = values[key] as? [Any] else { throw error("\(key): expected an array") }
        return value
    }

    func objects(_ key: String) throws -> [JSONObject] {
        try array(key).enumerated().map { try JSONObject($1, path: "\(path).\(key)[\($0)]", file: file) }
    }

    func error(_ message: String) -> TokenizerError { TokenizerError(.malformed, file: file, "\(path).\(message)") }
    func unsupported(_ what: String) -> TokenizerError { TokenizerError(.unsupported, file: file, "\(path): \(what) is not supported") }

    /// A `{"String": s}` or `{"Regex": r}` pattern.
    func pattern(_ key: String) throws -> TextPattern {
        let object = try self.object(key)
        if let literal = object.optionalString("String") { return .literal(literal) }
        if let regex = object.optionalString("Regex") {
            if let scanner = SplitPattern.recognize(regex) { return .scanner(scanner, source: regex) }
            do {
                return .regex(try NSRegularExpression(pattern: regex, options: []), source: regex)
            } catch {
                throw TokenizerError(.unsupported, file: file, "\(path).\(key): the regex \(regex.debugDescription) does not compile here: \(error)")
            }
        }
        throw object.error("expected {\"String\": …} or {\"Regex\": …}")
    }
}

/// A literal or a regular expression, as tokenizer.json writes patterns. Patterns we have a scanner for use it.
enum TextPattern: @unchecked Sendable {
    // @unchecked: NSRegularExpression is immutable once made and documented thread-safe for matching.
    case literal(String)
    case scanner(SplitPattern, source: String)
    case regex(NSRegularExpression, source: String)

    /// The byte ranges of the matches in UTF-8 `text`, in order, non-overlapping.
    func matches(in text: [UInt8]) -> [Range<Int>] {
        switch self {
        case .literal(let literal):
            let needle = Array(literal.utf8)
            guard !needle.isEmpty, needle.count <= text.count else { return [] }
            var ranges: [Range<Int>] = []
            var index = 0
            while index + needle.count <= text.count {
                if text[index] == needle[0], text[index..<(index + needle.count)].elementsEqual(needle) {
                    ranges.append(index..<(index + needle.count))
                    index += needle.count
                } else {
                    index += 1
                }
            }
            return ranges
        case .scanner(let scanner, _):
            var ranges: [Range<Int>] = []
            text.withUnsafeBufferPointer { bytes in scanner.forEachPiece(bytes) { ranges.append($0..<$1) } }
            return ranges
        case .regex(let regex, _):
            let string = String(decoding: text, as: UTF8.self)
            let utf16 = Array(string.utf16)
            // Map UTF-16 offsets back to UTF-8 offsets.
            var utf8Offsets = [Int](repeating: 0, count: utf16.count + 1)
            var utf8 = 0, index = 0
            for scalar in string.unicodeScalars {
                let units = scalar.utf16.count
                for unit in 0..<units { utf8Offsets[index + unit] = utf8 }
                index += units
                utf8 += scalar.utf8.count
            }
            utf8Offsets[utf16.count] = utf8
            return regex.matches(in: string, range: NSRange(location: 0, length: utf16.count)).compactMap { match in
                let range = match.range
                guard range.length > 0 else { return nil }
                return utf8Offsets[range.location]..<utf8Offsets[range.location + range.length]
            }
        }
    }
}
