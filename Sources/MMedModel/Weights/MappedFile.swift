import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A read-only memory mapping of a whole file: weights are used where they lie, never copied.
public final class MappedFile: @unchecked Sendable {
    // @unchecked: the mapping is immutable after init and unmapped only in deinit.
    public let path: String
    public let base: UnsafeRawPointer
    public let count: Int

    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw ModelError.file(path, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ModelError.file(path, "cannot stat") }
        count = Int(info.st_size)
        guard count > 0 else { throw ModelError.file(path, "the file is empty") }
        let pointer = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let pointer, pointer != MAP_FAILED else { throw ModelError.file(path, "cannot map: \(String(cString: strerror(errno)))") }
        base = UnsafeRawPointer(pointer)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), count) }
}

/// What can go wrong loading or running a model; every case names the file or tensor.
public enum ModelError: Error, CustomStringConvertible, Sendable {
    case file(String, String)
    case tensor(String, String)
    case config(String, String)
    case unsupported(String)
    case memory(String)

    public var description: String {
        switch self {
        case .file(let path, let message): "\(path): \(message)"
        case .tensor(let name, let message): "tensor \(name): \(message)"
        case .config(let path, let message): "\(path): \(message)"
        case .unsupported(let message): message
        case .memory(let message): message
        }
    }
}
