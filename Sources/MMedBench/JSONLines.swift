import Foundation
import MMedIO

/// The JSON values of a JSONL file with their 1-based line numbers; blank lines (spaces, tabs, a CR) are skipped, a
/// line that is not JSON is an error naming the file and line.
func readJSONLines(_ path: String) throws -> [(line: Int, value: JSONValue)] {
    guard let data = FileManager.default.contents(atPath: path) else { throw BenchFormatError(file: path, "cannot read the file") }
    var values: [(Int, JSONValue)] = []
    var lineNumber = 0
    for raw in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
        lineNumber += 1
        let bytes = [UInt8](raw)
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
        do { values.append((lineNumber, try JSONValue.parse(bytes))) } catch {
            throw BenchFormatError(file: path, line: lineNumber, "not valid JSON (\(error))")
        }
    }
    return values
}
