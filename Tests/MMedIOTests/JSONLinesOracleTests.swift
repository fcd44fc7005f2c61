import Foundation
import Testing
@testable import MMedIO

/// Golden decisions of CPython's `json.loads` on 3,500 JSON lines (hand-written, swept and mutated), written by
/// Tests/Oracles/json_lines_oracle.py. A record is accepted when the line is UTF-8, parses, is an object, and its
/// "text" (if a string) has no lone surrogate. The scanner, with the unescaping and UTF-8 check the filter does
/// on the text, must decide the same and extract the same text.
@Suite struct JSONLinesOracleTests {
    struct Case: Sendable {
        var line: [UInt8]
        var accept: Bool
        var text: String?
        var textKind: String
        var note: String
    }

    static let cases: [Case] = {
        let url = Bundle.module.url(forResource: "json-lines", withExtension: "jsonl", subdirectory: "Fixtures")!
        let text = try! String(contentsOf: url, encoding: .utf8)
        return text.split(separator: "\n").map { row in
            let object = try! JSONSerialization.jsonObject(with: Data(row.utf8)) as! [String: Any]
            return Case(line: Array(Data(base64Encoded: object["line_b64"] as! String)!), accept: object["accept"] as! Bool,
                        text: object["text"] as? String, textKind: object["text_kind"] as? String ?? "null", note: object["note"] as! String)
        }
    }()

    /// CPython implementation limits, not JSON: integers of more than 4,300 digits (its int conversion limit) and
    /// nesting beyond its recursion limit (about 990 levels; MMedKit accepts up to 10,000).
    static func isImplementationLimit(_ note: String, length: Int) -> Bool {
        if note == "bad numbers" && length > 4300 { return true }
        if note.hasPrefix("deep nesting"), let depth = Int(note.split(separator: " ").last ?? ""), depth >= 990 { return true }
        return false
    }

    /// What MMedKit decides for a line: (accepted, text, kind of the text value).
    static func decide(_ line: [UInt8]) -> (Bool, String?, String) {
        var scanner = JSONObjectScanner(keys: ["text"], deferValidation: ["text"])
        do { try line.withUnsafeBytes { try scanner.scan($0) } } catch { return (false, nil, "null") }
        guard let value = scanner.values[0] else { return (true, nil, "missing") }
        switch value.kind {
        case .string:
            // As the filter does: escapes are decoded by the scanner while it reads the field.
            if scanner.decodeError != nil { return (false, nil, "string") }
            let bytes = value.hasEscapes ? scanner.decoded.array : Array(line[value.range])
            guard let text = String(validating: bytes, as: UTF8.self) else { return (false, nil, "null") }
            return (true, text, "string")
        case .number: return (true, nil, "number")
        case .null: return (true, nil, "null")
        case .bool: return (true, nil, "bool")
        case .object: return (true, nil, "object")
        case .array: return (true, nil, "array")
        }
    }

    @Test func scannerDecidesAsCPythonOnEveryLine() {
        let cases = Self.cases
        #expect(cases.count > 3000)
        var checked = 0
        var disagreements: [String] = []
        for (index, item) in cases.enumerated() where !Self.isImplementationLimit(item.note, length: item.line.count) {
            checked += 1
            let (accept, text, kind) = Self.decide(item.line)
            if accept != item.accept || (accept && (text != item.text || kind != item.textKind)) {
                disagreements.append("#\(index) [\(item.note)] ours accept=\(accept) kind=\(kind), CPython accept=\(item.accept) kind=\(item.textKind): \(String(decoding: item.line.prefix(80), as: UTF8.self))")
            }
        }
        #expect(checked == cases.count - 5, "only the over-long integers and the lines nested beyond CPython's recursion limit are left out")
        #expect(disagreements.isEmpty, "\(disagreements.count) lines decided differently: \(disagreements.prefix(8))")
    }
}
