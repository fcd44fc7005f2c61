/// Where in a Parquet file something went wrong: as much of file, row group, column and page as is known.
public struct ParquetLocation: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var rowGroup: Int?
    public var column: String?
    /// 0-based page index within the column chunk (the dictionary page, if any, is page 0).
    public var page: Int?
    /// Byte offset in the file.
    public var offset: Int64?

    public init(file: String, rowGroup: Int? = nil, column: String? = nil, page: Int? = nil, offset: Int64? = nil) {
        self.file = file
        self.rowGroup = rowGroup
        self.column = column
        self.page = page
        self.offset = offset
    }

    public var description: String {
        var parts = [file]
        if let rowGroup { parts.append("row group \(rowGroup)") }
        if let column { parts.append("column \"\(column)\"") }
        if let page { parts.append("page \(page)") }
        if let offset { parts.append("offset \(offset)") }
        return parts.joined(separator: ", ")
    }
}

/// A Parquet file that cannot be read, or a request that cannot be served.
public struct ParquetError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The file cannot be opened or read.
        case io
        /// Not a Parquet file, or its footer or metadata is damaged.
        case badFooter
        /// Metadata decodes but contradicts itself or the file (lengths, offsets, counts).
        case badMetadata
        /// A page header or page body is damaged (including decompression failures).
        case corruptPage
        /// Valid Parquet using something this reader does not implement.
        case unsupported
        /// The caller asked for something the file does not have (a column, a row group).
        case usage
    }

    public var kind: Kind
    public var location: ParquetLocation
    public var message: String

    public init(_ kind: Kind, _ location: ParquetLocation, _ message: String) {
        self.kind = kind
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): \(message)" }
}

/// A decoding failure inside a page or a metadata structure, before its location is attached.
struct DecodeFailure: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
