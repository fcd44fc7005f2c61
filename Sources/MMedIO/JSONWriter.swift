/// Builds JSON text into a `ByteBuffer`: strings escaped as Python's `json.dumps(ensure_ascii=False)` does.
public extension ByteBuffer {
    /// Appends `bytes` (valid UTF-8) as a quoted JSON string.
    func appendJSONString(_ bytes: UnsafeRawBufferPointer) {
        append(0x22)
        reserve(bytes.count + 2)
        var runStart = 0
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        for index in 0..<bytes.count {
            let c = bytes[index]
            if c >= 0x20 && c != 0x22 && c != 0x5C { continue }
            append(UnsafeRawBufferPointer(rebasing: bytes[runStart..<index]))
            runStart = index + 1
            switch c {
            case 0x22: append(0x5C); append(0x22)
            case 0x5C: append(0x5C); append(0x5C)
            case 0x0A: append(0x5C); append(UInt8(ascii: "n"))
            case 0x0D: append(0x5C); append(UInt8(ascii: "r"))
            case 0x09: append(0x5C); append(UInt8(ascii: "t"))
            case 0x08: append(0x5C); append(UInt8(ascii: "b"))
            case 0x0C: append(0x5C); append(UInt8(ascii: "f"))
            default:
                append(0x5C); append(UInt8(ascii: "u")); append(0x30); append(0x30)
                append(hex[Int(c >> 4)]); append(hex[Int(c & 15)])
            }
        }
        append(UnsafeRawBufferPointer(rebasing: bytes[runStart..<bytes.count]))
        append(0x22)
    }

    func appendJSONString(_ string: String) {
        var copy = string
        copy.withUTF8 { appendJSONString(UnsafeRawBufferPointer($0)) }
    }

    /// Appends a decimal integer without building a `String`.
    func appendDecimal(_ value: Int) {
        if value < 0 {
            append(UInt8(ascii: "-"))
            appendDecimal(UInt64(value.magnitude))
        } else {
            appendDecimal(UInt64(value))
        }
    }

    func appendDecimal(_ value: UInt64) {
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)   // 32 bytes of scratch
        withUnsafeMutableBytes(of: &digits) { scratch in
            var index = scratch.count
            var rest = value
            repeat {
                index -= 1
                scratch[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            append(UnsafeRawBufferPointer(rebasing: scratch[index...]))
        }
    }

    func appendDecimal(_ value: Int64) { appendDecimal(Int(value)) }
}
