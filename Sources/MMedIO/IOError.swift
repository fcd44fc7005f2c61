/// An I/O or format error that names the file, the position in it and what to do.
public struct MMedIOError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable {
        case notFound, permission, readFailed, writeFailed, corruptCompressed, truncatedCompressed, malformed
    }
    public var kind: Kind
    public var path: String
    /// Byte offset (in the decompressed stream where that applies), when known.
    public var offset: Int64?
    /// 1-based line number, when known.
    public var line: Int?
    public var message: String

    public init(_ kind: Kind, path: String, offset: Int64? = nil, line: Int? = nil, _ message: String) {
        self.kind = kind
        self.path = path
        self.offset = offset
        self.line = line
        self.message = message
    }

    public var description: String {
        var location = path
        if let line { location += ":\(line)" }
        if let offset { location += " (byte \(offset))" }
        return "\(location): \(message)"
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The text of the current `errno`.
func errnoDescription(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}
