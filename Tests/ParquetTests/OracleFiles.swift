import Foundation
import Parquet
import Testing

/// The Parquet files written by pyarrow through `Tests/Oracles/parquet_oracle.py`, generated once per test run
/// into a temporary folder, with the oracle's manifest. pyarrow is installed by `scripts/setup` (pinned in
/// Tests/Oracles/requirements.txt); without it these tests fail rather than skip.
enum OracleFiles {
    struct Generated: Sendable {
        var directory: String
        var manifest: [String: any Sendable]
        var files: [[String: any Sendable]] { manifest["files"] as! [[String: any Sendable]] }
    }

    static let repository: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static let generated: Result<Generated, GenerationError> = {
        let directory = NSTemporaryDirectory() + "mmed-parquet-oracle-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", repository + "/Tests/Oracles/parquet_oracle.py", "generate", directory]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch { return .failure(GenerationError(message: "cannot run python3: \(error)")) }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            return .failure(GenerationError(message: "parquet_oracle.py failed (is pyarrow installed? run scripts/setup): \(message)"))
        }
        guard let data = FileManager.default.contents(atPath: directory + "/manifest.json"),
              let manifest = try? JSONSerialization.jsonObject(with: data) as? [String: any Sendable] else {
            return .failure(GenerationError(message: "no readable manifest.json in \(directory)"))
        }
        return .success(Generated(directory: directory, manifest: manifest))
    }()

    struct GenerationError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    static func get() throws -> Generated { try generated.get() }

    /// Names of the generated Parquet files (for parameterized tests; the oracle's case list is fixed).
    static let names: [String] = {
        guard case .success(let generated) = generated else { return ["(oracle generation failed)"] }
        return generated.files.map { $0["name"] as! String }
    }()
}

/// One value in the oracle's canonical JSON (see parquet_oracle.py): what the tests compare, byte for byte.
enum Canonical {
    static func string(_ bytes: UnsafeRawBufferPointer) -> String {
        var out = "\""
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            switch scalar.value {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x09: out += "\\t"
            case 0x08: out += "\\b"
            case 0x0C: out += "\\f"
            case 0..<0x20, 0x7F..<0xA0, 0x2028, 0x2029: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    static func hex(_ bytes: UnsafeRawBufferPointer) -> String {
        "{\"hex\":\"" + bytes.map { String(format: "%02x", $0) }.joined() + "\"}"
    }

    /// The current row's value of column `c`.
    static func value(_ cursor: RowGroupCursor, _ c: Int, column: ColumnDescriptor) -> String {
        let (page, index) = cursor.position(c)
        guard index >= 0 else { return "null" }
        switch page.values {
        case .boolean(let v): return v[index] ? "true" : "false"
        case .int32(let v): return column.isUnsigned ? String(UInt32(bitPattern: v[index])) : String(v[index])
        case .int64(let v): return column.isUnsigned ? String(UInt64(bitPattern: v[index])) : String(v[index])
        case .int96(let v): return String(v[index].nanosecondsSinceEpoch)
        case .float(let v): return "{\"f32\":\"" + String(format: "%08x", v[index].bitPattern) + "\"}"
        case .double(let v): return "{\"f64\":\"" + String(format: "%016lx", v[index].bitPattern) + "\"}"
        case .bytes(let v):
            return v.withValue(index) { column.physicalType == .byteArray && column.isText ? string($0) : hex($0) }
        }
    }
}
