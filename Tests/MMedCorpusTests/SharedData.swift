import Foundation
import Testing

/// `../shared/data` beside the checkout: real third-party data. Tests that need it run in CI (where its absence
/// is a failure) and are skipped elsewhere when it is missing.
enum SharedData {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }   // Tests/MMedCorpusTests/SharedData.swift → repo root
        return url.deletingLastPathComponent().appendingPathComponent("shared/data").path
    }()

    static var available: Bool { FileManager.default.fileExists(atPath: root + "/README.md") }
    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] != nil }
    /// Run when the data is there, and always in CI (so that a missing folder fails there).
    static var enabled: Bool { available || isCI }

    static func path(_ relative: String) -> String { root + "/" + relative }
}

/// The repository root, for running the built executable and reading bundled files.
enum Repository {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
}
