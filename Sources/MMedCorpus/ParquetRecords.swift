import Foundation
import MMedIO
import Parquet

/// Writes Parquet rows as JSON objects, one key per column in the order given.
/// Values: null as null; booleans; integers (unsigned when annotated so); decimals as JSON numbers with their
/// scale; FLOAT/DOUBLE in shortest round-trip form, NaN and infinities as Python's `json` writes them (NaN,
/// Infinity, -Infinity); INT96 as nanoseconds since the Unix epoch; byte arrays as JSON strings when they are
/// valid UTF-8, otherwise as `{"base64": "..."}`. Dates and timestamps stay the integers they are stored as.
public struct ParquetJSONWriter {
    public let columns: [ColumnDescriptor]
    private let keys: [[UInt8]]

    public init(columns: [ColumnDescriptor]) {
        self.columns = columns
        keys = columns.enumerated().map { index, column in
            let buffer = ByteBuffer(capacity: 64)
            buffer.append(index == 0 ? "{" : ",")
            buffer.appendJSONString(column.name)
            buffer.append(":")
            return Array(buffer.bytes)
        }
    }

    /// Appends the cursor's current row as one JSON object followed by "\n".
    public func appendRow(_ cursor: RowGroupCursor, to output: ByteBuffer) {
        for c in 0..<columns.count {
            keys[c].withUnsafeBytes { output.append($0) }
            appendValue(cursor, c, to: output)
        }
        output.append(columns.isEmpty ? "{}\n" : "}\n")
    }

    public func appendValue(_ cursor: RowGroupCursor, _ c: Int, to output: ByteBuffer) {
        let (page, index) = cursor.position(c)
        guard index >= 0 else { output.append("null"); return }
        let column = columns[c]
        switch page.values {
        case .boolean(let values): output.append(values[index] ? "true" : "false")
        case .int32(let values):
            let value = values[index]
            if case .decimal(let scale, _)? = column.element.logicalType { appendDecimalNumber(Int128(value), scale: Int(scale), to: output) }
            else if column.element.convertedType == .decimal { appendDecimalNumber(Int128(value), scale: Int(column.element.scale ?? 0), to: output) }
            else if column.isUnsigned { output.appendDecimal(UInt64(UInt32(bitPattern: value))) }
            else { output.appendDecimal(Int(value)) }
        case .int64(let values):
            let value = values[index]
            if case .decimal(let scale, _)? = column.element.logicalType { appendDecimalNumber(Int128(value), scale: Int(scale), to: output) }
            else if column.element.convertedType == .decimal { appendDecimalNumber(Int128(value), scale: Int(column.element.scale ?? 0), to: output) }
            else if column.isUnsigned { output.appendDecimal(UInt64(bitPattern: value)) }
            else { output.appendDecimal(value) }
        case .int96(let values): output.appendDecimal(values[index].nanosecondsSinceEpoch)
        case .float(let values): appendFloatingPoint(Double(values[index]), text: values[index].description, to: output)
        case .double(let values): appendFloatingPoint(values[index], text: values[index].description, to: output)
        case .bytes(let values):
            values.withValue(index) { bytes in
                if let scale = decimalScale(column), bytes.count <= 16 {
                    var unscaled: Int128 = bytes.isEmpty ? 0 : (bytes[0] & 0x80 != 0 ? -1 : 0)
                    for byte in bytes { unscaled = unscaled << 8 | Int128(byte) }
                    appendDecimalNumber(unscaled, scale: scale, to: output)
                } else if isValidUTF8(bytes) {
                    output.appendJSONString(bytes)
                } else {
                    output.append("{\"base64\":\"")
                    output.append(Data(bytes).base64EncodedString())
                    output.append("\"}")
                }
            }
        }
    }

    private func decimalScale(_ column: ColumnDescriptor) -> Int? {
        if case .decimal(let scale, _)? = column.element.logicalType { return Int(scale) }
        if column.element.convertedType == .decimal { return Int(column.element.scale ?? 0) }
        return nil
    }

    private func appendFloatingPoint(_ value: Double, text: String, to output: ByteBuffer) {
        if value.isNaN { output.append("NaN") }
        else if value.isInfinite { output.append(value < 0 ? "-Infinity" : "Infinity") }
        else { output.append(text) }
    }

    private func appendDecimalNumber(_ unscaled: Int128, scale: Int, to output: ByteBuffer) {
        let negative = unscaled < 0
        var digits = String(unscaled.magnitude)
        if scale > 0 {
            if digits.count <= scale { digits = String(repeating: "0", count: scale - digits.count + 1) + digits }
            digits.insert(".", at: digits.index(digits.endIndex, offsetBy: -scale))
        } else if scale < 0 {
            digits += String(repeating: "0", count: -scale)
        }
        output.append((negative ? "-" : "") + digits)
    }
}

/// Whether `bytes` is valid UTF-8 (with an ASCII fast path).
public func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
    var index = 0
    let count = bytes.count
    guard let base = bytes.baseAddress else { return true }
    while index + 8 <= count {
        if base.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { break }
        index += 8
    }
    if index == count { return true }
    // Everything before `index` is ASCII, so `index` starts a character.
    return String(validating: UnsafeRawBufferPointer(rebasing: bytes[index...]), as: UTF8.self) != nil
}
