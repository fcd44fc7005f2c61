/// A reader of the Thrift compact protocol, the encoding of Parquet's footer and page headers.
/// Every read is bounds-checked; running past the end throws `ThriftReader.Truncated` (so that a caller reading
/// a header of unknown length can fetch more bytes and retry), anything else malformed throws `DecodeFailure`.
/// Unknown fields are skipped, so newer writers' additions do not break it.
struct ThriftReader {
    struct Truncated: Error {}

    enum WireType: UInt8 {
        case boolTrue = 1, boolFalse = 2, byte = 3, i16 = 4, i32 = 5, i64 = 6, double = 7, binary = 8
        case list = 9, set = 10, map = 11, structure = 12
    }

    let base: UnsafeRawPointer
    let count: Int
    private(set) var position = 0
    /// Nesting depth of structs and containers, bounded so that hostile input cannot exhaust the stack.
    private var depth = 0
    static let maximumDepth = 64

    init(_ bytes: UnsafeRawBufferPointer) {
        base = bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        count = bytes.count
    }

    mutating func byte() throws -> UInt8 {
        guard position < count else { throw Truncated() }
        let value = base.load(fromByteOffset: position, as: UInt8.self)
        position += 1
        return value
    }

    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
            if shift >= 64 { throw DecodeFailure("varint longer than 10 bytes") }
        }
    }

    mutating func zigzag() throws -> Int64 {
        let raw = try varint()
        return Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }

    /// The next field of the current struct, or nil at its end. `last` is the previous field id (start at 0).
    mutating func field(_ last: inout Int16) throws -> (id: Int16, type: WireType)? {
        let header = try byte()
        if header == 0 { return nil }
        guard let type = WireType(rawValue: header & 0x0F) else {
            throw DecodeFailure("unknown Thrift type \(header & 0x0F) at byte \(position - 1)")
        }
        let delta = header >> 4
        if delta != 0 {
            last = last &+ Int16(delta)
        } else {
            let id = try zigzag()
            guard id >= Int64(Int16.min) && id <= Int64(Int16.max) else { throw DecodeFailure("field id \(id) out of range") }
            last = Int16(id)
        }
        return (last, type)
    }

    private func expect(_ actual: WireType, _ allowed: WireType..., field: Int16) throws {
        guard allowed.contains(actual) else { throw DecodeFailure("field \(field) has Thrift type \(actual), expected \(allowed[0])") }
    }

    mutating func i32(_ type: WireType, field: Int16) throws -> Int32 {
        try expect(type, .i32, .i16, .byte, field: field)
        if type == .byte { return Int32(Int8(bitPattern: try byte())) }
        let value = try zigzag()
        guard value >= Int64(Int32.min) && value <= Int64(Int32.max) else { throw DecodeFailure("field \(field): \(value) does not fit 32 bits") }
        return Int32(value)
    }

    mutating func i64(_ type: WireType, field: Int16) throws -> Int64 {
        try expect(type, .i64, .i32, .i16, field: field)
        return try zigzag()
    }

    mutating func bool(_ type: WireType, field: Int16) throws -> Bool {
        try expect(type, .boolTrue, .boolFalse, field: field)
        return type == .boolTrue
    }

    mutating func binary(_ type: WireType, field: Int16) throws -> UnsafeRawBufferPointer {
        try expect(type, .binary, field: field)
        let length = try varint()
        guard length <= UInt64(count - position) else {
            if length > 1 << 31 { throw DecodeFailure("field \(field): binary length \(length) is impossible") }
            throw Truncated()
        }
        let slice = UnsafeRawBufferPointer(start: base + position, count: Int(length))
        position += Int(length)
        return slice
    }

    mutating func string(_ type: WireType, field: Int16) throws -> String {
        let bytes = try binary(type, field: field)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The header of a list or set: element count and type.
    mutating func listHeader(_ type: WireType, field: Int16) throws -> (count: Int, element: WireType) {
        try expect(type, .list, .set, field: field)
        let header = try byte()
        var size = UInt64(header >> 4)
        if size == 15 { size = try varint() }
        guard let element = WireType(rawValue: header & 0x0F) else { throw DecodeFailure("field \(field): unknown list element type \(header & 0x0F)") }
        // Every element takes at least one byte, so a larger count is a lie (or a truncation).
        guard size <= UInt64(count - position) else {
            if size > 1 << 31 { throw DecodeFailure("field \(field): list of \(size) elements is impossible") }
            throw Truncated()
        }
        return (Int(size), element)
    }

    /// Reads a struct: `body` is called for every field with its id and type and must consume the field
    /// (or call `skip`).
    mutating func structure(_ body: (inout ThriftReader, Int16, WireType) throws -> Void) throws {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.maximumDepth else { throw DecodeFailure("structures nested deeper than \(Self.maximumDepth)") }
        var last: Int16 = 0
        while let (id, type) = try field(&last) {
            try body(&self, id, type)
        }
    }

    mutating func structField(_ type: WireType, field: Int16, _ body: (inout ThriftReader, Int16, WireType) throws -> Void) throws {
        try expect(type, .structure, field: field)
        try structure(body)
    }

    /// Reads a list of structs.
    mutating func structList(_ type: WireType, field: Int16, _ element: (inout ThriftReader) throws -> Void) throws {
        let (n, elementType) = try listHeader(type, field: field)
        guard n == 0 || elementType == .structure else { throw DecodeFailure("field \(field): list of \(elementType), expected structs") }
        for _ in 0..<n { try element(&self) }
    }

    /// Reads a list whose elements `element` decodes, given their wire type.
    mutating func list<T>(_ type: WireType, field: Int16, _ element: (inout ThriftReader, WireType) throws -> T) throws -> [T] {
        let (n, elementType) = try listHeader(type, field: field)
        var values: [T] = []
        values.reserveCapacity(n)
        for _ in 0..<n { values.append(try element(&self, elementType)) }
        return values
    }

    mutating func i32List(_ type: WireType, field: Int16) throws -> [Int32] {
        try list(type, field: field) { r, elementType in try r.i32(elementType, field: field) }
    }

    mutating func stringList(_ type: WireType, field: Int16) throws -> [String] {
        try list(type, field: field) { r, elementType in try r.string(elementType, field: field) }
    }

    /// Skips a value of any type.
    mutating func skip(_ type: WireType) throws {
        switch type {
        case .boolTrue, .boolFalse: return
        case .byte: _ = try byte()
        case .i16, .i32, .i64: _ = try varint()
        case .double:
            guard count - position >= 8 else { throw Truncated() }
            position += 8
        case .binary: _ = try binary(.binary, field: 0)
        case .list, .set:
            depth += 1
            defer { depth -= 1 }
            guard depth <= Self.maximumDepth else { throw DecodeFailure("containers nested deeper than \(Self.maximumDepth)") }
            let (n, element) = try listHeader(type, field: 0)
            for _ in 0..<n {
                // In lists, booleans take one byte each.
                if element == .boolTrue || element == .boolFalse { _ = try byte() } else { try skip(element) }
            }
        case .map:
            depth += 1
            defer { depth -= 1 }
            guard depth <= Self.maximumDepth else { throw DecodeFailure("containers nested deeper than \(Self.maximumDepth)") }
            let size = try varint()
            if size == 0 { return }
            guard size <= UInt64(count - position) else { throw size > 1 << 31 ? DecodeFailure("map of \(size) entries is impossible") : Truncated() }
            let types = try byte()
            guard let key = WireType(rawValue: types >> 4), let value = WireType(rawValue: types & 0x0F) else {
                throw DecodeFailure("unknown map key or value type")
            }
            for _ in 0..<size {
                if key == .boolTrue || key == .boolFalse { _ = try byte() } else { try skip(key) }
                if value == .boolTrue || value == .boolFalse { _ = try byte() } else { try skip(value) }
            }
        case .structure:
            try structure { reader, _, fieldType in try reader.skip(fieldType) }
        }
    }
}
