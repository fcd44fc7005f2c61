import Foundation

/// What the test targets share: the repository, ../shared/data, temporary folders and the built `mmed`.

/// The repository root, for oracle scripts and the built executable.
public enum Repository {
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }  // Tests/MMedTestSupport/TestSupport.swift → repository root
        return url.path
    }()
    public static func path(_ relative: String) -> String { root + "/" + relative }
}

/// `../shared/data` beside the checkout: real third-party data. Tests that need it run in CI (where its absence is a
/// failure) and are skipped elsewhere when it is missing.
public enum SharedData {
    public static let root = URL(fileURLWithPath: Repository.root).deletingLastPathComponent().appendingPathComponent("shared/data").path
    public static var available: Bool { FileManager.default.fileExists(atPath: root + "/README.md") }
    public static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] != nil }
    public static var enabled: Bool { available || isCI }
    public static func path(_ relative: String) -> String { root + "/" + relative }
}

/// A fresh folder under the system's temporary directory, named after the test.
public func temporaryDirectory(_ name: String = #function) -> String {
    let path = NSTemporaryDirectory() + "mmedtest-\(name.filter { $0.isLetter || $0.isNumber }.prefix(40))-\(UUID().uuidString.prefix(8))"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Runs the built `mmed` executable (it sits beside the test bundle in the build products folder).
public enum MMedCLI {
    public static let executable: String = {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [products, products.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("mmed").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return Repository.root + "/.build/debug/mmed"
    }()

    public struct Result {
        public var status: Int32
        public var standardOutput: String
        public var standardError: String
    }

    @discardableResult
    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "SLURM_ARRAY_TASK_ID")
        env.removeValue(forKey: "SLURM_ARRAY_TASK_COUNT")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, standardOutput: String(decoding: outData, as: UTF8.self),
                      standardError: String(decoding: errData, as: UTF8.self))
    }
}

/// The oracle scripts of Tests/Oracles, run with python3 (scripts/setup installs their pinned packages).
public enum Oracle {
    public struct Failure: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Runs `Tests/Oracles/<name> arguments...`; standard output is returned, a failure carries standard error.
    @discardableResult
    public static func run(_ name: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Repository.path("Tests/Oracles/" + name)] + arguments
        let (outputData, errorData) = try runCollecting(process)
        guard process.terminationStatus == 0 else {
            throw Failure(message: "\(name) \(arguments.first ?? "") failed (run scripts/setup for its pinned packages): "
                + String(decoding: errorData, as: UTF8.self))
        }
        return String(decoding: outputData, as: UTF8.self)
    }
}

/// Runs `process` to its end and returns its standard output and error, both pipes read concurrently so neither
/// fills up and blocks the child.
public func runCollecting(_ process: Process) throws -> (output: Data, error: Data) {
    let output = Pipe(), errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    nonisolated(unsafe) var errorData = Data()
    let reader = Thread { errorData = errors.fileHandleForReading.readDataToEndOfFile() }
    reader.start()
    let outputData = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !reader.isFinished { usleep(1000) }
    return (outputData, errorData)
}
