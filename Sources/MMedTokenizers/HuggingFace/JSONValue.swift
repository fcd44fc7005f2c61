import Foundation
import MMedIO

/// Typed access to a JSON object, with errors that name the JSON path.
struct JSONObject {
    let members: [(key: String, value: JSONValue)]
    let path: String
    let file: String

    init(_ value: JSONValue?, path: String, file: String) throws {
        guard case .object(let members)? = value else {
            throw TokenizerError(.malformed, file: file, "\(path): expected a JSON object")
        }
        self.members = members; self.path = path; self.file = file
    }

    /// The member's value (the last one, as for duplicate keys in Python and serde).
    subscript(key: String) -> JSONValue? { members.last(where: { $0.key == key })?.value }

    func has(_ key: String) -> Bool { if let value = self[key], !value.isNull { return true }; return false }

    func string(_ key: String) throws -> String {
        guard let value = self[key]?.string else { throw error("\(key): expected a string") }
        return value
    }
    func optionalString(_ key: String) -> String? { self[key]?.string }

    func bool(_ key: String, default fallback: Bool) -> Bool { self[key]?.bool ?? fallback }

    func int(_ key: String) throws -> Int {
        guard let value = self[key]?.int else { throw error("\(key): expected an integer") }
        return value
    }
    func optionalInt(_ key: String) -> Int? { self[key]?.int }

    func object(_ key: String) throws -> JSONObject { try JSONObject(self[key], path: "\(path).\(key)", file: file) }
    func optionalObject(_ key: String) throws -> JSONObject? {
        guard has(key) else { return nil }
        return try object(key)
    }

    func array(_ key: String) throws -> [JSONValue] {
        guard let value = self[key]?.array else { throw error("\(key): expected an array") }
        return value
    }

    func objects(_ key: String) throws -> [JSONObject] {
        try array(key).enumerated().map { try JSONObject($1, path: "\(path).\(key)[\($0)]", file: file) }
    }

    /// An object of token → id, in file order.
    func tokenIDs(_ key: String) throws -> [(token: String, id: Int)] {
        guard case .object(let members)? = self[key] else { throw error("\(key): expected an object of token ids") }
        return try members.map { member in
            guard let id = member.value.int else { throw error("\(key).\(member.key.debugDescription): expected an integer id") }
            return (member.key, id)
        }
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
                return .regex(try NSRegularExpression(pattern: OnigurumaPattern.icuPattern(regex), options: OnigurumaPattern.options), source: regex)
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
            if needle.isEmpty {
                // HF compiles the escaped literal as a regex: the empty one matches at every character boundary.
                guard !text.isEmpty else { return [] }
                var ranges: [Range<Int>] = [0..<0]
                var index = 0
                while index < text.count { index = min(text.count, index + utf8Length(text[index])); ranges.append(index..<index) }
                return ranges
            }
            guard needle.count <= text.count else { return [] }
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
            // HF finds nothing in an empty text. It keeps empty matches, except one where the previous match ended
            // (Oniguruma's `find_iter`; ICU reports that one).
            guard !text.isEmpty else { return [] }
            var ranges: [Range<Int>] = []
            var previousEnd = -1
            for match in regex.matches(in: string, range: NSRange(location: 0, length: utf16.count)) {
                let range = match.range
                if range.length == 0, range.location == previousEnd { continue }
                ranges.append(utf8Offsets[range.location]..<utf8Offsets[range.location + range.length])
                previousEnd = range.location + range.length
            }
            return ranges
        }
    }
}
