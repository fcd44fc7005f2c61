#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file atomically: bytes go to a temporary file beside the target, which is fsynced and then
/// renamed over the target, and the directory is fsynced. A reader never sees a partial file, and a crash
/// leaves either the old file or the new one.
public final class AtomicFileWriter {
    public let path: String
    private let temporaryPath: String
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private var committed = false
    private static let flushThreshold = 1 << 20

    public init(path: String) throws {
        self.path = path
        let directory = parentDirectory(of: path)
        try createDirectories(directory)
        temporaryPath = "\(directory)/.\(lastPathComponent(path)).tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if descriptor < 0 {
            throw MMedIOError(.writeFailed, path: temporaryPath, "cannot create: \(errnoDescription())")
        }
        buffer.reserveCapacity(Self.flushThreshold * 2)
    }

    deinit {
        if !committed {
            if descriptor >= 0 { close(descriptor) }
            unlink(temporaryPath)
        }
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    public func write(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try write($0) }
    }

    public func write(_ string: String) throws {
        var copy = string
        try copy.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }

    private func flush() throws {
        var written = 0
        try buffer.withUnsafeBytes { raw in
            while written < raw.count {
                let result = Glibc.write(descriptor, raw.baseAddress! + written, raw.count - written)
                if result < 0 {
                    if errno == EINTR { continue }
                    throw MMedIOError(.writeFailed, path: path, "write failed: \(errnoDescription())")
                }
                written += result
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, fsyncs and renames the file into place.
    public func commit() throws {
        precondition(!committed, "AtomicFileWriter committed twice")
        try flush()
        if fsync(descriptor) != 0 {
            throw MMedIOError(.writeFailed, path: path, "fsync failed: \(errnoDescription())")
        }
        close(descriptor)
        descriptor = -1
        if rename(temporaryPath, path) != 0 {
            throw MMedIOError(.writeFailed, path: path, "rename failed: \(errnoDescription())")
        }
        committed = true
        syncDirectory(parentDirectory(of: path))
    }

    /// Writes `bytes` to `path` atomically in one call.
    public static func write(_ bytes: [UInt8], to path: String) throws {
        let writer = try AtomicFileWriter(path: path)
        try writer.write(bytes)
        try writer.commit()
    }

    public static func write(_ string: String, to path: String) throws {
        try write(Array(string.utf8), to: path)
    }
}

func syncDirectory(_ directory: String) {
    let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if fd >= 0 {
        _ = fsync(fd)
        close(fd)
    }
}

public func parentDirectory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    if slash == path.startIndex { return "/" }
    return String(path[..<slash])
}

public func lastPathComponent(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
}

/// `mkdir -p`.
public func createDirectories(_ path: String) throws {
    if path.isEmpty || path == "." || path == "/" { return }
    var isDirectory = stat()
    if stat(path, &isDirectory) == 0 {
        if (isDirectory.st_mode & S_IFMT) == S_IFDIR { return }
        throw MMedIOError(.writeFailed, path: path, "exists and is not a directory")
    }
    try createDirectories(parentDirectory(of: path))
    if mkdir(path, 0o755) != 0 && errno != EEXIST {
        throw MMedIOError(.writeFailed, path: path, "cannot create directory: \(errnoDescription())")
    }
}

public func fileExists(_ path: String) -> Bool {
    var info = stat()
    return stat(path, &info) == 0
}

public func removeFile(_ path: String) {
    unlink(path)
}

/// Reads a whole (small) file.
public func readWholeFile(_ path: String) throws -> [UInt8] {
    let source = try FileByteSource(path: path)
    var result: [UInt8] = []
    while let chunk = try source.nextChunk() { result.append(contentsOf: chunk) }
    return result
}
