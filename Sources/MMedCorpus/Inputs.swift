import Foundation
import MMedIO

/// The kind of document file an input is.
public enum InputFormat: String, Sendable, Codable {
    /// One JSON object per line.
    case jsonl
    /// A whole file is one document.
    case text
    /// A Parquet file: one document per row, the text in a string column.
    case parquet
}

/// One input file of a corpus job.
public struct InputFile: Sendable, Codable, Equatable {
    public var path: String
    public var format: InputFormat
    public var compression: Compression
    public var size: Int64

    /// Classifies a file by its name: `.jsonl`, `.ndjson`, `.json` (one object per line, as dolma writes them)
    /// and `.txt`, each optionally `.gz` or `.zst`, and `.parquet` (compressed inside). Returns nil for other names.
    public static func classify(path: String) -> (InputFormat, Compression)? {
        if lastPathComponent(path).lowercased().hasSuffix(".parquet") { return (.parquet, .none) }
        let compression = Compression(path: path)
        var name = lastPathComponent(path).lowercased()
        switch compression {
        case .gzip: name = String(name.dropLast(3))
        case .zstd: name = String(name.dropLast(name.hasSuffix(".zstd") ? 5 : 4))
        case .none: break
        }
        if name.hasSuffix(".jsonl") || name.hasSuffix(".ndjson") || name.hasSuffix(".json") { return (.jsonl, compression) }
        if name.hasSuffix(".txt") { return (.text, compression) }
        return nil
    }
}

public struct InputError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// Expands the user's input arguments (files, directories searched recursively, glob patterns) into a sorted,
/// de-duplicated list of input files. A missing path, a pattern that matches nothing, or an explicitly named
/// file of an unknown kind is an error; files of unknown kinds inside directories are skipped and reported.
/// Directories in `excluding` (the job's own output) are never searched.
public func expandInputs(_ arguments: [String], excluding: [String] = []) throws -> (files: [InputFile], skipped: [String]) {
    let excluded = Set(excluding.map { URL(fileURLWithPath: $0).standardizedFileURL.path })
    var files: [InputFile] = []
    var skipped: [String] = []
    var seen = Set<String>()

    func add(_ path: String, explicit: Bool) throws {
        guard seen.insert(path).inserted else { return }
        guard let (format, compression) = InputFile.classify(path: path) else {
            if explicit {
                throw InputError(message: "\(path): unknown input kind; expected .parquet, or .jsonl, .ndjson, .json or .txt, optionally .gz or .zst")
            }
            skipped.append(path)
            return
        }
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw InputError(message: "\(path): cannot read (\(String(cString: strerror(errno))))")
        }
        files.append(InputFile(path: path, format: format, compression: compression, size: Int64(info.st_size)))
    }

    func walk(_ directory: String) throws {
        if excluded.contains(URL(fileURLWithPath: directory).standardizedFileURL.path) { return }
        // Never read a filter run's own output directory as input.
        if FileManager.default.fileExists(atPath: directory + "/run.json") && FileManager.default.fileExists(atPath: directory + "/units") {
            skipped.append(directory)
            return
        }
        let entries: [String]
        do { entries = try FileManager.default.contentsOfDirectory(atPath: directory).sorted() } catch {
            throw InputError(message: "\(directory): cannot list directory (\(error.localizedDescription))")
        }
        for entry in entries where !entry.hasPrefix(".") {
            let path = directory.hasSuffix("/") ? directory + entry : directory + "/" + entry
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
            if isDirectory.boolValue { try walk(path) } else { try add(path, explicit: false) }
        }
    }

    for argument in arguments {
        if argument.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" }) && !FileManager.default.fileExists(atPath: argument) {
            let matches = globPaths(argument)
            if matches.isEmpty { throw InputError(message: "\(argument): the pattern matches no file") }
            for match in matches {
                var isDirectory: ObjCBool = false
                _ = FileManager.default.fileExists(atPath: match, isDirectory: &isDirectory)
                if isDirectory.boolValue { try walk(match) } else { try add(match, explicit: false) }
            }
            continue
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
            throw InputError(message: "\(argument): no such file or directory")
        }
        if isDirectory.boolValue { try walk(argument) } else { try add(argument, explicit: true) }
    }
    if files.isEmpty {
        throw InputError(message: "no input files found in \(arguments.joined(separator: " ")) (expected .parquet, or .jsonl, .ndjson, .json or .txt, optionally .gz or .zst)")
    }
    return (files, skipped)
}

private func globPaths(_ pattern: String) -> [String] {
    var result = glob_t()
    defer { globfree(&result) }
    guard glob(pattern, 0, nil, &result) == 0 else { return [] }
    var paths: [String] = []
    for index in 0..<Int(result.gl_pathc) {
        if let pointer = result.gl_pathv[index] { paths.append(String(cString: pointer)) }
    }
    return paths.sorted()
}
