/// Byte-array values (BYTE_ARRAY or FIXED_LEN_BYTE_ARRAY) as slices of a shared buffer: a page's values point
/// into its decompressed body, dictionary-encoded values into the dictionary, so nothing is copied per value.
public struct ByteArrayValues: Sendable {
    public let storage: [UInt8]
    public let starts: [Int]
    public let lengths: [Int]

    public var count: Int { starts.count }

    /// Calls `body` with the bytes of value `index`.
    @inlinable
    public func withValue<R>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let start = starts[index], length = lengths[index]
        return try storage.withUnsafeBytes { all in
            try body(UnsafeRawBufferPointer(start: all.baseAddress.map { $0 + start }, count: length))
        }
    }

    public func bytes(_ index: Int) -> [UInt8] { withValue(index) { Array($0) } }

    /// Total bytes of all values.
    public var totalLength: Int { lengths.reduce(0, +) }
}

/// An INT96 value: 8 bytes of nanoseconds within the day, then 4 bytes of Julian day (the legacy timestamp).
public struct Int96: Sendable, Equatable {
    public var nanosecondsOfDay: UInt64
    public var julianDay: UInt32

    /// Nanoseconds since the Unix epoch (as pyarrow and Spark read INT96 timestamps), wrapping on overflow.
    public var nanosecondsSinceEpoch: Int64 {
        (Int64(julianDay) - 2_440_588) &* 86_400_000_000_000 &+ Int64(bitPattern: nanosecondsOfDay)
    }
}

/// The non-null values of one page (or of a dictionary), densely packed.
public enum ColumnValues: Sendable {
    case boolean([Bool])
    case int32([Int32])
    case int64([Int64])
    case int96([Int96])
    case float([Float])
    case double([Double])
    /// BYTE_ARRAY and FIXED_LEN_BYTE_ARRAY.
    case bytes(ByteArrayValues)

    public var count: Int {
        switch self {
        case .boolean(let v): v.count
        case .int32(let v): v.count
        case .int64(let v): v.count
        case .int96(let v): v.count
        case .float(let v): v.count
        case .double(let v): v.count
        case .bytes(let v): v.count
        }
    }

    /// Decoded size in bytes: byte arrays by length, fixed-width types by width.
    public var decodedByteCount: Int {
        switch self {
        case .boolean(let v): v.count
        case .int32(let v): v.count * 4
        case .int64(let v): v.count * 8
        case .int96(let v): v.count * 12
        case .float(let v): v.count * 4
        case .double(let v): v.count * 8
        case .bytes(let v): v.totalLength
        }
    }
}

/// One decoded data page of a flat column.
public struct DataPage: Sendable {
    /// Value slots in the page, nulls included: rows, for a flat column.
    public var slotCount: Int
    /// Per slot 1 when a value is present, 0 when null; nil when every slot has a value.
    public var definitionLevels: [UInt8]?
    /// The present values, in slot order.
    public var values: ColumnValues
    /// The page's encoding, version and sizes, for a census.
    public var info: PageInfo

    public var nullCount: Int { slotCount - values.count }
}

/// What a page was, as stored.
public struct PageInfo: Sendable {
    public var index: Int
    public var type: PageType
    public var encoding: Encoding
    public var compressedSize: Int
    public var uncompressedSize: Int
    public var valueCount: Int
    /// File offset of the page header; the body follows `headerSize` bytes later.
    public var offset: Int64
    public var headerSize: Int
}
