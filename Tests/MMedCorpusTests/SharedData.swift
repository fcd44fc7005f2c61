import Foundation
import Testing

/// `../shared/data` beside the checkout: real third-party data. Tests that need it run in CI (where its absence
/// is a failure) and are skipped elsewhere when it is missing.
enum SharedData {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }   // Tests/MMedCorpusTests/SharedData.swift → repo root
        return url.deletingLastPathComponent().appendingPathComponent("shared/data").path
    }()

    static var available: Bool { FileManager.default.fileExists(atPath: root + "/README.md") }
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] != nil }
    /// Run when the data is there, and always in CI (so that a missing folder fails there).
    static var enabled: Bool { available || isCI }

    static func path(_ relative: String) -> String { root + "/" + relative }
}

/// The repository root, for running the built executable and reading bundled files.
enum Repository {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
}

/// A JSON string literal for `text` as Python's `json.dumps` writes it: with `asciiOnly`, every non-ASCII
/// character becomes a \u escape (astral ones as surrogate pairs); otherwise only quotes, backslashes and
/// control characters are escaped.
func pythonJSONString(_ text: String, asciiOnly: Bool) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
            if scalar.value < 0x20 || (asciiOnly && scalar.value > 0x7E) {
                if scalar.value > 0xFFFF {
                    let v = scalar.value - 0x10000
                    out += String(format: "\\u%04x\\u%04x", 0xD800 + (v >> 10), 0xDC00 + (v & 0x3FF))
                } else {
                    out += String(format: "\\u%04x", scalar.value)
                }
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}
