// NumPy's `.npy` format, version 1.0, for one-dimensional arrays: the magic "\x93NUMPY", the version bytes 1 0, a
// little-endian uint16 header length, then the header, a Python dict literal padded with spaces and ended by "\n" so that
// the data starts at a multiple of 64 bytes. The header is written byte for byte as `np.save` writes it (numpy 2.x),
// including the 21 − len(repr(n)) spaces numpy leaves after the dict so that the shape can grow in place.

/// The `.npy` header of a one-dimensional little-endian array of `count` values of type `descr` (`<i8`, `|u1`).
public func numpyHeader(descr: String, count: Int) -> [UInt8] {
    let growthAxisMaxDigits = 21
    var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(count),), }"
    header += String(repeating: " ", count: max(0, growthAxisMaxDigits - String(count).count))
    let prefixLength = 10   // magic (6) + version (2) + header length (2)
    let unpadded = prefixLength + header.utf8.count + 1
    // As numpy: a header that happens to end on the boundary still gets 64 spaces.
    header += String(repeating: " ", count: 64 - unpadded % 64) + "\n"
    var bytes: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
    let length = UInt16(header.utf8.count)
    bytes += [UInt8(length & 0xFF), UInt8(length >> 8)]
    bytes += Array(header.utf8)
    return bytes
}

/// A whole `.npy` file of int64 values (`<i8`), as `np.save(path, np.array(values))` writes it on a 64-bit system.
public func numpyInt64File<C: Collection>(_ values: C) -> [UInt8] where C.Element == Int32 {
    var bytes = numpyHeader(descr: "<i8", count: values.count)
    bytes.reserveCapacity(bytes.count + values.count * 8)
    for value in values { appendLittleEndian(Int64(value), to: &bytes) }
    return bytes
}
