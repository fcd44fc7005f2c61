#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An open Parquet file: its footer metadata and schema, read once; column data is read on demand with
/// positioned reads, so one `ParquetFile` can serve many threads at once.
public final class ParquetFile: Sendable {
    public let path: String
    public let size: Int64
    public let metadata: FileMetaData
    public let schema: Schema
    /// Length of the serialized footer metadata.
    public let footerLength: Int
    private let descriptor: Int32

    /// Opens `path` and reads its footer. Throws `ParquetError` (kind `.io` or `.badFooter`) naming the file.
    public init(path: String) throws {
        self.path = path
        let location = ParquetLocation(file: path)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ParquetError(.io, location, "cannot open (\(String(cString: strerror(errno))))") }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw ParquetError(.io, location, "cannot stat (\(message))")
        }
        descriptor = fd
        size = Int64(info.st_size)
        do {
            let (metadata, footerLength) = try Self.readFooter(fd: fd, size: size, location: location)
            self.metadata = metadata
            self.footerLength = footerLength
            do { schema = try Schema(elements: metadata.schema) } catch let failure as DecodeFailure {
                throw ParquetError(.badMetadata, location, "bad schema: \(failure.message)")
            }
            guard metadata.rowCount >= 0 else { throw ParquetError(.badMetadata, location, "negative row count \(metadata.rowCount)") }
            var rows: Int64 = 0
            for (index, group) in metadata.rowGroups.enumerated() {
                let where_ = ParquetLocation(file: path, rowGroup: index)
                guard group.rowCount >= 0 else { throw ParquetError(.badMetadata, where_, "negative row count \(group.rowCount)") }
                guard group.columns.count == schema.columns.count else {
                    throw ParquetError(.badMetadata, where_, "has \(group.columns.count) column chunks, the schema \(schema.columns.count) columns")
                }
                let (sum, overflow) = rows.addingReportingOverflow(group.rowCount)
                guard !overflow else { throw ParquetError(.badMetadata, where_, "row counts overflow") }
                rows = sum
            }
            guard rows == metadata.rowCount else {
                throw ParquetError(.badMetadata, location, "the row groups hold \(rows) rows, the footer says \(metadata.rowCount)")
            }
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(descriptor) }

    private static func readFooter(fd: Int32, size: Int64, location: ParquetLocation) throws -> (FileMetaData, Int) {
        guard size >= 12 else {
            throw ParquetError(.badFooter, location, "not a Parquet file: \(size) bytes is too short for the PAR1 header and footer")
        }
        var tail = [UInt8](repeating: 0, count: 8)
        try readFully(fd: fd, into: &tail, at: size - 8, location: location)
        var head = [UInt8](repeating: 0, count: 4)
        try readFully(fd: fd, into: &head, at: 0, location: location)
        let magic: [UInt8] = Array("PAR1".utf8)
        if Array(tail[4..<8]) == Array("PARE".utf8) {
            throw ParquetError(.unsupported, location, "the footer is encrypted (PARE); encrypted Parquet is not supported")
        }
        guard Array(tail[4..<8]) == magic else {
            throw ParquetError(.badFooter, location, "not a Parquet file, or truncated: the last 4 bytes are not PAR1")
        }
        guard head == magic else {
            throw ParquetError(.badFooter, location, "not a Parquet file: the first 4 bytes are not PAR1")
        }
        let length = Int(UInt32(tail[0]) | UInt32(tail[1]) << 8 | UInt32(tail[2]) << 16 | UInt32(tail[3]) << 24)
        guard Int64(length) <= size - 12 else {
            throw ParquetError(.badFooter, ParquetLocation(file: location.file, offset: size - 8),
                               "footer length \(length) exceeds the file (\(size) bytes)")
        }
        var footer = [UInt8](repeating: 0, count: length)
        let footerStart = size - 8 - Int64(length)
        try readFully(fd: fd, into: &footer, at: footerStart, location: location)
        do {
            let metadata = try footer.withUnsafeBytes { bytes -> FileMetaData in
                var reader = ThriftReader(bytes)
                return try FileMetaData(thrift: &reader)
            }
            return (metadata, length)
        } catch let failure as DecodeFailure {
            throw ParquetError(.badFooter, ParquetLocation(file: location.file, offset: footerStart), "bad footer metadata: \(failure.message)")
        } catch is ThriftReader.Truncated {
            throw ParquetError(.badFooter, ParquetLocation(file: location.file, offset: footerStart),
                               "bad footer metadata: it ends before its last structure (\(length) bytes)")
        }
    }

    /// Reads exactly `buffer.count` bytes at `offset`.
    static func readFully(fd: Int32, into buffer: inout [UInt8], at offset: Int64, location: ParquetLocation) throws {
        try buffer.withUnsafeMutableBytes { raw in
            try readFully(fd: fd, into: raw, at: offset, location: location)
        }
    }

    static func readFully(fd: Int32, into raw: UnsafeMutableRawBufferPointer, at offset: Int64, location: ParquetLocation) throws {
        var done = 0
        while done < raw.count {
            let n = pread(fd, raw.baseAddress! + done, raw.count - done, off_t(offset + Int64(done)))
            if n < 0 {
                if errno == EINTR { continue }
                throw ParquetError(.io, location, "read failed at offset \(offset + Int64(done)) (\(String(cString: strerror(errno))))")
            }
            if n == 0 { throw ParquetError(.io, location, "the file ended at offset \(offset + Int64(done)) (was it truncated while reading?)") }
            done += n
        }
    }

    func read(into raw: UnsafeMutableRawBufferPointer, at offset: Int64, location: ParquetLocation) throws {
        try Self.readFully(fd: descriptor, into: raw, at: offset, location: location)
    }

    public var rowGroupCount: Int { metadata.rowGroups.count }
    public var rowCount: Int64 { metadata.rowCount }

    /// The flat columns among `names` (all flat columns when nil), in the order asked. A name that does not exist
    /// or that is nested is a `.usage` error.
    public func columns(named names: [String]?) throws -> [ColumnDescriptor] {
        guard let names else { return schema.columns.filter(\.isFlat) }
        return try names.map { name in
            if let column = schema.column(named: name) {
                guard column.isFlat else {
                    throw ParquetError(.usage, ParquetLocation(file: path, column: name),
                                       "is a nested column (inside a list, map or group); only flat columns can be read")
                }
                return column
            }
            if schema.nestedFields.contains(name) {
                throw ParquetError(.usage, ParquetLocation(file: path, column: name),
                                   "is a nested field (list, map or group); only flat columns can be read")
            }
            let available = schema.columns.map(\.name).joined(separator: ", ")
            throw ParquetError(.usage, ParquetLocation(file: path), "has no column \"\(name)\" (columns: \(available))")
        }
    }

    /// A reader of one column chunk, page by page.
    public func columnReader(rowGroup: Int, column: ColumnDescriptor) throws -> ColumnChunkReader {
        guard rowGroup >= 0 && rowGroup < metadata.rowGroups.count else {
            throw ParquetError(.usage, ParquetLocation(file: path), "has no row group \(rowGroup) (it has \(metadata.rowGroups.count))")
        }
        return try ColumnChunkReader(file: self, rowGroup: rowGroup, column: column)
    }

    /// A cursor over the rows of one row group, reading the given columns in step.
    public func rows(rowGroup: Int, columns: [ColumnDescriptor]) throws -> RowGroupCursor {
        try RowGroupCursor(file: self, rowGroup: rowGroup, columns: columns)
    }
}
