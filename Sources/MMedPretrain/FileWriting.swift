#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MMedIO

// Many small files (one `.npy` per window) made durable together: each is written under a temporary name and renamed
// into place, so no reader sees a partial file; `syncFiles` then fsyncs the lot once the unit is written, before its
// done-marker. (An fsync per file as it is written would make the disk wait on every 16 KiB window.)

/// Writes `bytes` to `path` through a temporary file and a rename, without fsync (see `syncFiles`).
func writeFileUnsynced(_ bytes: [UInt8], to path: String) throws {
    let temporary = "\(parentDirectory(of: path))/.\(lastPathComponent(path)).tmp-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw MMedIOError(.writeFailed, path: temporary, "cannot create: \(String(cString: strerror(errno)))") }
    var written = 0
    let failure: String? = bytes.withUnsafeBytes { raw in
        while written < raw.count {
            let result = write(descriptor, raw.baseAddress! + written, raw.count - written)
            if result < 0 {
                if errno == EINTR { continue }
                return String(cString: strerror(errno))
            }
            written += result
        }
        return nil
    }
    close(descriptor)
    if let failure {
        unlink(temporary)
        throw MMedIOError(.writeFailed, path: path, "write failed: \(failure)")
    }
    if rename(temporary, path) != 0 {
        let message = String(cString: strerror(errno))
        unlink(temporary)
        throw MMedIOError(.writeFailed, path: path, "rename failed: \(message)")
    }
}

/// fsyncs each file, then the directories that hold them.
func syncFiles(_ paths: [String]) throws {
    var directories = Set<String>()
    for path in paths {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw MMedIOError(.writeFailed, path: path, "cannot reopen to sync: \(String(cString: strerror(errno)))") }
        let status = fsync(descriptor)
        close(descriptor)
        guard status == 0 else { throw MMedIOError(.writeFailed, path: path, "fsync failed: \(String(cString: strerror(errno)))") }
        directories.insert(parentDirectory(of: path))
    }
    for directory in directories.sorted() {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if descriptor >= 0 {
            _ = fsync(descriptor)
            close(descriptor)
        }
    }
}

/// Copies `count` bytes at `offset` of the file `path` to `writer` (the token parts that make up a shard).
func copyFileRange(_ path: String, offset: Int64, count: Int64, to writer: AtomicFileWriter, buffer: UnsafeMutableRawBufferPointer) throws {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw MMedIOError(.notFound, path: path, "cannot open: \(String(cString: strerror(errno)))") }
    defer { close(descriptor) }
    var done: Int64 = 0
    while done < count {
        let wanted = Int(min(Int64(buffer.count), count - done))
        let result = pread(descriptor, buffer.baseAddress!, wanted, off_t(offset + done))
        if result < 0 {
            if errno == EINTR { continue }
            throw MMedIOError(.readFailed, path: path, offset: offset + done, "read failed: \(String(cString: strerror(errno)))")
        }
        if result == 0 { throw MMedIOError(.readFailed, path: path, offset: offset + done, "ends before the \(count) bytes the shard needs") }
        try writer.write(UnsafeRawBufferPointer(rebasing: buffer[0..<result]))
        done += Int64(result)
    }
}

/// The size of a file, nil if it does not exist.
func fileSize(_ path: String) -> Int64? {
    var info = stat()
    return stat(path, &info) == 0 ? Int64(info.st_size) : nil
}
