// The parts of Parquet's Thrift metadata (parquet.thrift) that a reader needs. Enumerations are kept as raw
// values wrapped in small structs, so that a value this reader does not know is still shown, not rejected.

/// A Thrift enumeration: its raw value, and the names of the values parquet.thrift defines, by raw value.
public protocol ThriftEnumeration: RawRepresentable, Hashable, Sendable, CustomStringConvertible where RawValue == Int32 {
    static var names: [String] { get }
}

extension ThriftEnumeration {
    public var description: String { Self.names.element(rawValue) ?? "\(Self.self)(\(rawValue))" }
}

public struct PhysicalType: ThriftEnumeration {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let boolean = Self(rawValue: 0), int32 = Self(rawValue: 1), int64 = Self(rawValue: 2), int96 = Self(rawValue: 3)
    public static let float = Self(rawValue: 4), double = Self(rawValue: 5), byteArray = Self(rawValue: 6), fixedLenByteArray = Self(rawValue: 7)
    public static let names = ["BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"]
}

public struct Repetition: ThriftEnumeration {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let required = Self(rawValue: 0), optional = Self(rawValue: 1), repeated = Self(rawValue: 2)
    public static let names = ["REQUIRED", "OPTIONAL", "REPEATED"]
}

public struct Codec: ThriftEnumeration {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let uncompressed = Self(rawValue: 0), snappy = Self(rawValue: 1), gzip = Self(rawValue: 2), lzo = Self(rawValue: 3)
    public static let brotli = Self(rawValue: 4), lz4 = Self(rawValue: 5), zstd = Self(rawValue: 6), lz4Raw = Self(rawValue: 7)
    public static let names = ["UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"]
}

public struct Encoding: ThriftEnumeration {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let plain = Self(rawValue: 0), plainDictionary = Self(rawValue: 2), rle = Self(rawValue: 3), bitPacked = Self(rawValue: 4)
    public static let deltaBinaryPacked = Self(rawValue: 5), deltaLengthByteArray = Self(rawValue: 6), deltaByteArray = Self(rawValue: 7)
    public static let rleDictionary = Self(rawValue: 8), byteStreamSplit = Self(rawValue: 9)
    public static let names = ["PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED", "DELTA_BINARY_PACKED", "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY", "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"]
}

public struct PageType: ThriftEnumeration {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let dataPage = Self(rawValue: 0), indexPage = Self(rawValue: 1), dictionaryPage = Self(rawValue: 2), dataPageV2 = Self(rawValue: 3)
    public static let names = ["DATA_PAGE", "INDEX_PAGE", "DICTIONARY_PAGE", "DATA_PAGE_V2"]
}

/// The legacy annotation of a column (`ConvertedType`).
public struct ConvertedType: ThriftEnumeration {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let utf8 = Self(rawValue: 0), map = Self(rawValue: 1), mapKeyValue = Self(rawValue: 2), list = Self(rawValue: 3)
    public static let enumeration = Self(rawValue: 4), decimal = Self(rawValue: 5), date = Self(rawValue: 6)
    public static let uint8 = Self(rawValue: 11), uint16 = Self(rawValue: 12), uint32 = Self(rawValue: 13), uint64 = Self(rawValue: 14)
    public static let json = Self(rawValue: 19)
    public static let names = ["UTF8", "MAP", "MAP_KEY_VALUE", "LIST", "ENUM", "DECIMAL", "DATE", "TIME_MILLIS", "TIME_MICROS", "TIMESTAMP_MILLIS", "TIMESTAMP_MICROS", "UINT_8", "UINT_16", "UINT_32", "UINT_64", "INT_8", "INT_16", "INT_32", "INT_64", "JSON", "BSON", "INTERVAL"]
}

/// The modern annotation of a column (`LogicalType`), reduced to what a reader acts on.
public enum LogicalType: Sendable, Equatable, CustomStringConvertible {
    case string, map, list, enumeration, decimal(scale: Int32, precision: Int32), date, time, timestamp, json, bson, uuid, float16
    case integer(bitWidth: Int8, signed: Bool)
    case unknown
    case other(Int16)

    public var description: String {
        switch self {
        case .string: "STRING"
        case .map: "MAP"
        case .list: "LIST"
        case .enumeration: "ENUM"
        case .decimal(let scale, let precision): "DECIMAL(\(precision),\(scale))"
        case .date: "DATE"
        case .time: "TIME"
        case .timestamp: "TIMESTAMP"
        case .json: "JSON"
        case .bson: "BSON"
        case .uuid: "UUID"
        case .float16: "FLOAT16"
        case .integer(let bits, let signed): "INT(\(bits),\(signed ? "signed" : "unsigned"))"
        case .unknown: "UNKNOWN"
        case .other(let id): "LOGICAL(\(id))"
        }
    }
}

public struct SchemaElement: Sendable {
    public var type: PhysicalType?
    public var typeLength: Int32?
    public var repetition: Repetition?
    public var name = ""
    public var childCount: Int32?
    public var convertedType: ConvertedType?
    public var scale: Int32?
    public var precision: Int32?
    public var logicalType: LogicalType?
}

public struct PageEncodingStats: Sendable {
    public var pageType = PageType.dataPage
    public var encoding = Encoding.plain
    public var count: Int32 = 0
}

public struct ColumnMetaData: Sendable {
    public var type = PhysicalType.boolean
    public var encodings: [Encoding] = []
    public var path: [String] = []
    public var codec = Codec.uncompressed
    public var valueCount: Int64 = 0
    public var totalUncompressedSize: Int64 = 0
    public var totalCompressedSize: Int64 = 0
    public var dataPageOffset: Int64 = 0
    public var indexPageOffset: Int64?
    public var dictionaryPageOffset: Int64?
    public var encodingStats: [PageEncodingStats]?
}

public struct ColumnChunk: Sendable {
    public var filePath: String?
    public var fileOffset: Int64 = 0
    public var metaData: ColumnMetaData?
}

public struct RowGroup: Sendable {
    public var columns: [ColumnChunk] = []
    public var totalByteSize: Int64 = 0
    public var rowCount: Int64 = 0
    public var totalCompressedSize: Int64?
}

public struct KeyValue: Sendable {
    public var key = ""
    public var value: String?
}

public struct FileMetaData: Sendable {
    public var version: Int32 = 0
    public var schema: [SchemaElement] = []
    public var rowCount: Int64 = 0
    public var rowGroups: [RowGroup] = []
    public var keyValueMetadata: [KeyValue] = []
    public var createdBy: String?
}

struct DataPageHeader {
    var valueCount: Int32 = 0
    var encoding = Encoding.plain
    var definitionLevelEncoding = Encoding.rle
    var repetitionLevelEncoding = Encoding.rle
}

struct DictionaryPageHeader {
    var valueCount: Int32 = 0
    var encoding = Encoding.plain
}

struct DataPageHeaderV2 {
    var valueCount: Int32 = 0
    var nullCount: Int32 = 0
    var rowCount: Int32 = 0
    var encoding = Encoding.plain
    var definitionLevelsByteLength: Int32 = 0
    var repetitionLevelsByteLength: Int32 = 0
    var isCompressed = true
}

struct PageHeader {
    var type = PageType.dataPage
    var uncompressedSize: Int32 = 0
    var compressedSize: Int32 = 0
    var dataPage: DataPageHeader?
    var dictionaryPage: DictionaryPageHeader?
    var dataPageV2: DataPageHeaderV2?
}

extension Array {
    func element(_ index: Int32) -> Element? { index >= 0 && Int(index) < count ? self[Int(index)] : nil }
}

// MARK: - Decoding

extension FileMetaData {
    init(thrift reader: inout ThriftReader) throws {
        var hasSchema = false, hasRowCount = false, hasRowGroups = false
        try reader.structure { r, id, type in
            switch id {
            case 1: version = try r.i32(type, field: id)
            case 2:
                hasSchema = true
                try r.structList(type, field: id) { r in schema.append(try SchemaElement(thrift: &r)) }
            case 3: rowCount = try r.i64(type, field: id); hasRowCount = true
            case 4:
                hasRowGroups = true
                try r.structList(type, field: id) { r in rowGroups.append(try RowGroup(thrift: &r)) }
            case 5: try r.structList(type, field: id) { r in keyValueMetadata.append(try KeyValue(thrift: &r)) }
            case 6: createdBy = try r.string(type, field: id)
            default: try r.skip(type)
            }
        }
        guard hasSchema, hasRowCount, hasRowGroups else { throw DecodeFailure("FileMetaData lacks a required field (schema, num_rows or row_groups)") }
    }
}

extension SchemaElement {
    init(thrift reader: inout ThriftReader) throws {
        try reader.structure { r, id, type in
            switch id {
            case 1: self.type = PhysicalType(rawValue: try r.i32(type, field: id))
            case 2: typeLength = try r.i32(type, field: id)
            case 3: repetition = Repetition(rawValue: try r.i32(type, field: id))
            case 4: name = try r.string(type, field: id)
            case 5: childCount = try r.i32(type, field: id)
            case 6: convertedType = ConvertedType(rawValue: try r.i32(type, field: id))
            case 7: scale = try r.i32(type, field: id)
            case 8: precision = try r.i32(type, field: id)
            case 10: logicalType = try LogicalType(thrift: &r, type: type, field: id)
            default: try r.skip(type)
            }
        }
    }
}

extension LogicalType {
    /// LogicalType is a Thrift union: the id of its one field says which type it is.
    init(thrift reader: inout ThriftReader, type: ThriftReader.WireType, field: Int16) throws {
        var result = LogicalType.unknown
        try reader.structField(type, field: field) { r, id, type in
            switch id {
            case 1: result = .string
            case 2: result = .map
            case 3: result = .list
            case 4: result = .enumeration
            case 5:
                var scale: Int32 = 0, precision: Int32 = 0
                try r.structField(type, field: id) { r, id, type in
                    switch id {
                    case 1: scale = try r.i32(type, field: id)
                    case 2: precision = try r.i32(type, field: id)
                    default: try r.skip(type)
                    }
                }
                result = .decimal(scale: scale, precision: precision)
                return
            case 6: result = .date
            case 7: result = .time
            case 8: result = .timestamp
            case 10:
                var bits: Int8 = 0, signed = true
                try r.structField(type, field: id) { r, id, type in
                    switch id {
                    case 1: bits = Int8(truncatingIfNeeded: try r.i32(type, field: id))
                    case 2: signed = try r.bool(type, field: id)
                    default: try r.skip(type)
                    }
                }
                result = .integer(bitWidth: bits, signed: signed)
                return
            case 11: result = .unknown
            case 12: result = .json
            case 13: result = .bson
            case 14: result = .uuid
            case 15: result = .float16
            default: result = .other(id)
            }
            try r.skip(type)
        }
        self = result
    }
}

extension RowGroup {
    init(thrift reader: inout ThriftReader) throws {
        try reader.structure { r, id, type in
            switch id {
            case 1: try r.structList(type, field: id) { r in columns.append(try ColumnChunk(thrift: &r)) }
            case 2: totalByteSize = try r.i64(type, field: id)
            case 3: rowCount = try r.i64(type, field: id)
            case 6: totalCompressedSize = try r.i64(type, field: id)
            default: try r.skip(type)
            }
        }
    }
}

extension ColumnChunk {
    init(thrift reader: inout ThriftReader) throws {
        try reader.structure { r, id, type in
            switch id {
            case 1: filePath = try r.string(type, field: id)
            case 2: fileOffset = try r.i64(type, field: id)
            case 3: metaData = try ColumnMetaData(thrift: &r, type: type, field: id)
            default: try r.skip(type)
            }
        }
    }
}

extension ColumnMetaData {
    init(thrift reader: inout ThriftReader, type: ThriftReader.WireType, field: Int16) throws {
        try reader.structField(type, field: field) { r, id, type in
            switch id {
            case 1: self.type = PhysicalType(rawValue: try r.i32(type, field: id))
            case 2: encodings = try r.i32List(type, field: id).map(Encoding.init(rawValue:))
            case 3: path = try r.stringList(type, field: id)
            case 4: codec = Codec(rawValue: try r.i32(type, field: id))
            case 5: valueCount = try r.i64(type, field: id)
            case 6: totalUncompressedSize = try r.i64(type, field: id)
            case 7: totalCompressedSize = try r.i64(type, field: id)
            case 9: dataPageOffset = try r.i64(type, field: id)
            case 10: indexPageOffset = try r.i64(type, field: id)
            case 11: dictionaryPageOffset = try r.i64(type, field: id)
            case 13:
                var stats: [PageEncodingStats] = []
                try r.structList(type, field: id) { r in
                    var entry = PageEncodingStats()
                    try r.structure { r, id, type in
                        switch id {
                        case 1: entry.pageType = PageType(rawValue: try r.i32(type, field: id))
                        case 2: entry.encoding = Encoding(rawValue: try r.i32(type, field: id))
                        case 3: entry.count = try r.i32(type, field: id)
                        default: try r.skip(type)
                        }
                    }
                    stats.append(entry)
                }
                encodingStats = stats
            default: try r.skip(type)
            }
        }
    }
}

extension KeyValue {
    init(thrift reader: inout ThriftReader) throws {
        try reader.structure { r, id, type in
            switch id {
            case 1: key = try r.string(type, field: id)
            case 2: value = try r.string(type, field: id)
            default: try r.skip(type)
            }
        }
    }
}

extension PageHeader {
    init(thrift reader: inout ThriftReader) throws {
        var hasType = false, hasSizes = 0
        try reader.structure { r, id, type in
            switch id {
            case 1: self.type = PageType(rawValue: try r.i32(type, field: id)); hasType = true
            case 2: uncompressedSize = try r.i32(type, field: id); hasSizes += 1
            case 3: compressedSize = try r.i32(type, field: id); hasSizes += 1
            case 5:
                var header = DataPageHeader()
                try r.structField(type, field: id) { r, id, type in
                    switch id {
                    case 1: header.valueCount = try r.i32(type, field: id)
                    case 2: header.encoding = Encoding(rawValue: try r.i32(type, field: id))
                    case 3: header.definitionLevelEncoding = Encoding(rawValue: try r.i32(type, field: id))
                    case 4: header.repetitionLevelEncoding = Encoding(rawValue: try r.i32(type, field: id))
                    default: try r.skip(type)
                    }
                }
                dataPage = header
            case 7:
                var header = DictionaryPageHeader()
                try r.structField(type, field: id) { r, id, type in
                    switch id {
                    case 1: header.valueCount = try r.i32(type, field: id)
                    case 2: header.encoding = Encoding(rawValue: try r.i32(type, field: id))
                    default: try r.skip(type)
                    }
                }
                dictionaryPage = header
            case 8:
                var header = DataPageHeaderV2()
                try r.structField(type, field: id) { r, id, type in
                    switch id {
                    case 1: header.valueCount = try r.i32(type, field: id)
                    case 2: header.nullCount = try r.i32(type, field: id)
                    case 3: header.rowCount = try r.i32(type, field: id)
                    case 4: header.encoding = Encoding(rawValue: try r.i32(type, field: id))
                    case 5: header.definitionLevelsByteLength = try r.i32(type, field: id)
                    case 6: header.repetitionLevelsByteLength = try r.i32(type, field: id)
                    case 7: header.isCompressed = try r.bool(type, field: id)
                    default: try r.skip(type)
                    }
                }
                dataPageV2 = header
            default: try r.skip(type)
            }
        }
        guard hasType, hasSizes == 2 else { throw DecodeFailure("page header lacks its type or sizes") }
        guard uncompressedSize >= 0, compressedSize >= 0 else {
            throw DecodeFailure("page header has a negative size (\(compressedSize) compressed, \(uncompressedSize) uncompressed)")
        }
    }
}
