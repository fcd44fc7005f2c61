// Decoders of Parquet's value and level encodings. Every read is bounds-checked against the page; malformed
// input throws `DecodeFailure`, never reads outside the buffer.

/// A bounds-checked cursor over a page body.
struct PageBytes {
    let base: UnsafeRawPointer
    let count: Int
    var position = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        count = bytes.count
    }

    var remaining: Int { count - position }

    mutating func take(_ n: Int, _ what: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= remaining else { throw DecodeFailure("\(what()) needs \(n) bytes at byte \(position), the page has \(remaining) left") }
        let slice = UnsafeRawBufferPointer(start: base + position, count: n)
        position += n
        return slice
    }

    mutating func uint32LE(_ what: @autoclosure () -> String) throws -> UInt32 {
        let bytes = try take(4, what())
        return bytes.loadUnaligned(as: UInt32.self).littleEndian
    }

    mutating func uleb128(_ what: @autoclosure () -> String) throws -> UInt64 {
        var result: UInt64 = 0, shift: UInt64 = 0
        while true {
            guard position < count else { throw DecodeFailure("\(what()) ends inside a varint") }
            let b = base.load(fromByteOffset: position, as: UInt8.self)
            position += 1
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            guard shift < 64 else { throw DecodeFailure("\(what()): varint longer than 10 bytes") }
        }
    }

    mutating func zigzag(_ what: @autoclosure () -> String) throws -> Int64 {
        let raw = try uleb128(what())
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }
}

/// Reads `count` bit-packed values of `bitWidth` bits (least significant bit first) from `bytes`.
@inline(__always)
private func unpack(_ bytes: UnsafeRawPointer, available: Int, bitWidth: Int, count: Int, into out: UnsafeMutablePointer<UInt32>) {
    if bitWidth == 0 {
        out.update(repeating: 0, count: count)
        return
    }
    let mask: UInt64 = bitWidth == 32 ? 0xFFFF_FFFF : (1 << UInt64(bitWidth)) - 1
    for i in 0..<count {
        let bit = i * bitWidth
        let byte = bit >> 3
        // Load up to 8 bytes without reading past `available`.
        var word: UInt64 = 0
        let n = min(8, available - byte)
        if n == 8 {
            word = bytes.loadUnaligned(fromByteOffset: byte, as: UInt64.self).littleEndian
        } else {
            for k in 0..<n { word |= UInt64(bytes.load(fromByteOffset: byte + k, as: UInt8.self)) << UInt64(8 * k) }
        }
        out[i] = UInt32(truncatingIfNeeded: (word >> UInt64(bit & 7)) & mask)
    }
}

/// Decodes `count` values of the RLE / bit-packed hybrid encoding (levels, dictionary indices, RLE booleans).
func decodeHybrid(_ input: inout PageBytes, bitWidth: Int, count: Int, into out: UnsafeMutablePointer<UInt32>, what: String) throws {
    guard bitWidth >= 0 && bitWidth <= 32 else { throw DecodeFailure("\(what): bit width \(bitWidth) is out of range") }
    var produced = 0
    let valueBytes = (bitWidth + 7) / 8
    while produced < count {
        let header = try input.uleb128(what)
        if header & 1 == 1 {
            // Bit-packed: groups of 8 values.
            let groups = header >> 1
            guard groups > 0, groups <= UInt64(Int32.max) else { throw DecodeFailure("\(what): bit-packed run of \(groups) groups") }
            let values = Int(groups) * 8
            let used = min(values, count - produced)
            let fullBytes = Int(groups) * bitWidth
            // A final run may stop short of its padded length; the values we need must be there.
            let needed = (used * bitWidth + 7) / 8
            let available = min(fullBytes, input.remaining)
            guard needed <= available else {
                throw DecodeFailure("\(what): bit-packed run needs \(needed) bytes at byte \(input.position), the page has \(input.remaining) left")
            }
            unpack(input.base + input.position, available: available, bitWidth: bitWidth, count: used, into: out + produced)
            input.position += available
            produced += used
        } else {
            let run = header >> 1
            let bytes = try input.take(valueBytes, what + " RLE value")
            var value: UInt32 = 0
            for k in 0..<valueBytes { value |= UInt32(bytes[k]) << UInt32(8 * k) }
            if bitWidth < 32 && value >> UInt32(bitWidth) != 0 {
                throw DecodeFailure("\(what): RLE value \(value) does not fit \(bitWidth) bits")
            }
            let used = Int(min(run, UInt64(count - produced)))
            (out + produced).update(repeating: value, count: used)
            produced += used
        }
    }
}

/// Levels of a v1 data page: RLE with a 4-byte length prefix, or the deprecated BIT_PACKED (most significant
/// bit first). Returns one level per slot.
func decodeLevelsV1(_ input: inout PageBytes, encoding: Encoding, maxLevel: Int, count: Int) throws -> [UInt8] {
    let bitWidth = maxLevel == 0 ? 0 : (Int.bitWidth - maxLevel.leadingZeroBitCount)
    var raw = [UInt32](repeating: 0, count: count)
    switch encoding {
    case .rle:
        let length = Int(try input.uint32LE("definition levels length"))
        let slice = try input.take(length, "definition levels")
        var levels = PageBytes(slice)
        try raw.withUnsafeMutableBufferPointer { try decodeHybrid(&levels, bitWidth: bitWidth, count: count, into: $0.baseAddress!, what: "definition levels") }
    case .bitPacked:
        let slice = try input.take((count * bitWidth + 7) / 8, "definition levels")
        for i in 0..<count {
            var value: UInt32 = 0
            for b in 0..<bitWidth {
                let bit = i * bitWidth + b
                value = value << 1 | UInt32((slice[bit >> 3] >> (7 - UInt8(bit & 7))) & 1)
            }
            raw[i] = value
        }
    default:
        throw DecodeFailure("definition levels in encoding \(encoding) are not supported")
    }
    return try levels(raw, maxLevel: maxLevel)
}

/// Levels of a v2 data page: the hybrid encoding without length prefix, in a slice of known length.
func decodeLevelsV2(_ slice: UnsafeRawBufferPointer, maxLevel: Int, count: Int) throws -> [UInt8] {
    let bitWidth = maxLevel == 0 ? 0 : (Int.bitWidth - maxLevel.leadingZeroBitCount)
    var raw = [UInt32](repeating: 0, count: count)
    var input = PageBytes(slice)
    try raw.withUnsafeMutableBufferPointer { try decodeHybrid(&input, bitWidth: bitWidth, count: count, into: $0.baseAddress!, what: "definition levels") }
    return try levels(raw, maxLevel: maxLevel)
}

private func levels(_ raw: [UInt32], maxLevel: Int) throws -> [UInt8] {
    var result = [UInt8](repeating: 0, count: raw.count)
    for (i, value) in raw.enumerated() {
        guard value <= UInt32(maxLevel) else { throw DecodeFailure("definition level \(value) exceeds the column's maximum \(maxLevel)") }
        result[i] = UInt8(value)
    }
    return result
}

// MARK: - Values

/// PLAIN values of a fixed-width type.
func decodePlainFixed<T: FixedWidthInteger>(_ input: inout PageBytes, count: Int, as: T.Type) throws -> [T] {
    let bytes = try input.take(count * MemoryLayout<T>.size, "\(count) PLAIN values")
    return [T](unsafeUninitializedCapacity: count) { buffer, initialized in
        for i in 0..<count { buffer[i] = T(littleEndian: bytes.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self)) }
        initialized = count
    }
}

func decodePlainBooleans(_ input: inout PageBytes, count: Int) throws -> [Bool] {
    let bytes = try input.take((count + 7) / 8, "\(count) PLAIN booleans")
    return (0..<count).map { (bytes[$0 >> 3] >> UInt8($0 & 7)) & 1 == 1 }
}

func decodeRLEBooleans(_ input: inout PageBytes, count: Int) throws -> [Bool] {
    let length = Int(try input.uint32LE("RLE booleans length"))
    var body = PageBytes(try input.take(length, "RLE booleans"))
    var raw = [UInt32](repeating: 0, count: count)
    try raw.withUnsafeMutableBufferPointer { try decodeHybrid(&body, bitWidth: 1, count: count, into: $0.baseAddress!, what: "RLE booleans") }
    return raw.map { $0 == 1 }
}

func decodePlainInt96(_ input: inout PageBytes, count: Int) throws -> [Int96] {
    let bytes = try input.take(count * 12, "\(count) PLAIN INT96 values")
    return (0..<count).map { i in
        Int96(nanosecondsOfDay: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 12, as: UInt64.self)),
              julianDay: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i * 12 + 8, as: UInt32.self)))
    }
}

/// PLAIN BYTE_ARRAY values: each a 4-byte little-endian length and the bytes. The values point into `storage`,
/// which holds the page body starting at `storageOffset` of the cursor's base.
func decodePlainByteArrays(_ input: inout PageBytes, count: Int, storage: [UInt8], storageOffset: Int) throws -> ByteArrayValues {
    var starts = [Int](repeating: 0, count: count)
    var lengths = [Int](repeating: 0, count: count)
    let base = input.base
    var position = input.position
    let end = input.count
    for i in 0..<count {
        guard end - position >= 4 else { throw DecodeFailure("value \(i) of \(count): its length prefix is past the end of the page") }
        let length = Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: position, as: UInt32.self)))
        position += 4
        guard length <= end - position else {
            throw DecodeFailure("value \(i) of \(count) claims \(length) bytes at byte \(position), the page has \(end - position) left")
        }
        starts[i] = storageOffset + position
        lengths[i] = length
        position += length
    }
    input.position = position
    return ByteArrayValues(storage: storage, starts: starts, lengths: lengths)
}

func decodePlainFixedLength(_ input: inout PageBytes, count: Int, width: Int, storage: [UInt8], storageOffset: Int) throws -> ByteArrayValues {
    let first = input.position
    _ = try input.take(count * width, "\(count) FIXED_LEN_BYTE_ARRAY values of \(width) bytes")
    return ByteArrayValues(storage: storage, starts: (0..<count).map { storageOffset + first + $0 * width },
                           lengths: [Int](repeating: width, count: count))
}

/// DELTA_BINARY_PACKED: returns the values (as 64-bit, wrapping; INT32 columns truncate them).
func decodeDeltaBinaryPacked(_ input: inout PageBytes, count: Int) throws -> [Int64] {
    let blockSize = try input.uleb128("DELTA_BINARY_PACKED block size")
    let miniblocks = try input.uleb128("DELTA_BINARY_PACKED miniblock count")
    let total = try input.uleb128("DELTA_BINARY_PACKED value count")
    let first = try input.zigzag("DELTA_BINARY_PACKED first value")
    guard blockSize > 0, blockSize % 128 == 0, blockSize <= 1 << 20, miniblocks > 0, blockSize % miniblocks == 0,
          (blockSize / miniblocks) % 32 == 0 else {
        throw DecodeFailure("DELTA_BINARY_PACKED header is invalid (block size \(blockSize), \(miniblocks) miniblocks)")
    }
    guard total == UInt64(count) else { throw DecodeFailure("DELTA_BINARY_PACKED holds \(total) values, the page has \(count)") }
    let n = count
    var values = [Int64](repeating: 0, count: n)
    if n == 0 { return values }
    values[0] = first
    let perMiniblock = Int(blockSize / miniblocks)
    var produced = 1
    var previous = first
    var scratch = [UInt32](repeating: 0, count: perMiniblock)
    var widths = [Int](repeating: 0, count: Int(miniblocks))
    while produced < n {
        let minDelta = try input.zigzag("DELTA_BINARY_PACKED min delta")
        let widthBytes = try input.take(Int(miniblocks), "DELTA_BINARY_PACKED bit widths")
        for m in 0..<Int(miniblocks) { widths[m] = Int(widthBytes[m]) }
        for m in 0..<Int(miniblocks) where produced < n {
            let width = widths[m]
            guard width <= 64 else { throw DecodeFailure("DELTA_BINARY_PACKED bit width \(width) is out of range") }
            let bytes = try input.take(perMiniblock * width / 8, "DELTA_BINARY_PACKED miniblock")
            let used = min(perMiniblock, n - produced)
            if width <= 32 {
                scratch.withUnsafeMutableBufferPointer { out in
                    unpack(bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, available: bytes.count, bitWidth: width, count: used, into: out.baseAddress!)
                }
                for i in 0..<used {
                    previous = previous &+ minDelta &+ Int64(scratch[i])
                    values[produced + i] = previous
                }
            } else {
                for i in 0..<used {
                    var delta: UInt64 = 0
                    for b in 0..<width {
                        let bit = i * width + b
                        delta |= UInt64((bytes[bit >> 3] >> UInt8(bit & 7)) & 1) << UInt64(b)
                    }
                    previous = previous &+ minDelta &+ Int64(bitPattern: delta)
                    values[produced + i] = previous
                }
            }
            produced += used
        }
    }
    return values
}

/// DELTA_LENGTH_BYTE_ARRAY: lengths (delta-encoded), then the bytes back to back.
func decodeDeltaLengthByteArrays(_ input: inout PageBytes, count: Int, storage: [UInt8], storageOffset: Int) throws -> ByteArrayValues {
    let lengths64 = try decodeDeltaBinaryPacked(&input, count: count)
    var starts = [Int](repeating: 0, count: count)
    var lengths = [Int](repeating: 0, count: count)
    var position = input.position
    for i in 0..<count {
        let length = lengths64[i]
        guard length >= 0, length <= Int64(input.count - position) else {
            throw DecodeFailure("value \(i) of \(count) claims \(length) bytes at byte \(position), the page has \(input.count - position) left")
        }
        starts[i] = storageOffset + position
        lengths[i] = Int(length)
        position += Int(length)
    }
    input.position = position
    return ByteArrayValues(storage: storage, starts: starts, lengths: lengths)
}

/// DELTA_BYTE_ARRAY: prefix lengths (delta-encoded), then suffixes as DELTA_LENGTH_BYTE_ARRAY; each value is
/// the previous value's prefix followed by its suffix. Values are built into a new buffer.
func decodeDeltaByteArrays(_ input: inout PageBytes, count: Int, fixedWidth: Int? = nil) throws -> ByteArrayValues {
    let prefixes = try decodeDeltaBinaryPacked(&input, count: count)
    let suffixLengths = try decodeDeltaBinaryPacked(&input, count: count)
    var storage: [UInt8] = []
    var starts = [Int](repeating: 0, count: count)
    var lengths = [Int](repeating: 0, count: count)
    var position = input.position
    var previousStart = 0, previousLength = 0
    for i in 0..<count {
        let prefix = prefixes[i], suffix = suffixLengths[i]
        guard prefix >= 0, prefix <= Int64(previousLength) else {
            throw DecodeFailure("value \(i) of \(count): prefix length \(prefix) exceeds the previous value's \(previousLength) bytes")
        }
        guard suffix >= 0, suffix <= Int64(input.count - position) else {
            throw DecodeFailure("value \(i) of \(count) claims a \(suffix)-byte suffix at byte \(position), the page has \(input.count - position) left")
        }
        let start = storage.count
        if prefix > 0 { storage.append(contentsOf: storage[previousStart..<(previousStart + Int(prefix))]) }
        storage.append(contentsOf: UnsafeRawBufferPointer(start: input.base + position, count: Int(suffix)))
        position += Int(suffix)
        let length = Int(prefix + suffix)
        if let fixedWidth, length != fixedWidth {
            throw DecodeFailure("value \(i) of \(count) has \(length) bytes, the column's fixed length is \(fixedWidth)")
        }
        starts[i] = start
        lengths[i] = length
        previousStart = start
        previousLength = length
    }
    input.position = position
    return ByteArrayValues(storage: storage, starts: starts, lengths: lengths)
}

/// BYTE_STREAM_SPLIT: byte k of value i is at k * count + i.
func decodeByteStreamSplit(_ input: inout PageBytes, count: Int, width: Int) throws -> [UInt8] {
    let bytes = try input.take(count * width, "\(count) BYTE_STREAM_SPLIT values of \(width) bytes")
    var out = [UInt8](repeating: 0, count: count * width)
    out.withUnsafeMutableBufferPointer { out in
        for k in 0..<width {
            let stream = bytes.baseAddress! + k * count
            for i in 0..<count { out[i * width + k] = stream.load(fromByteOffset: i, as: UInt8.self) }
        }
    }
    return out
}

/// Dictionary indices of a data page: a bit-width byte, then the hybrid encoding.
func decodeDictionaryIndices(_ input: inout PageBytes, count: Int, dictionarySize: Int) throws -> [UInt32] {
    var indices = [UInt32](repeating: 0, count: count)
    if count == 0 { return indices }
    let width = Int(try input.take(1, "dictionary index bit width")[0])
    guard width <= 32 else { throw DecodeFailure("dictionary index bit width \(width) is out of range") }
    try indices.withUnsafeMutableBufferPointer { try decodeHybrid(&input, bitWidth: width, count: count, into: $0.baseAddress!, what: "dictionary indices") }
    for (i, index) in indices.enumerated() where Int(index) >= dictionarySize {
        throw DecodeFailure("dictionary index \(index) of value \(i) is out of range (the dictionary has \(dictionarySize) values)")
    }
    return indices
}
