import Foundation
import Testing

/// Runs the built `mmed` executable (it sits beside the test bundle in the build products folder).
enum MMedCLI {
    static let executable: String = {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [products, products.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("mmed").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return Repository.root + "/.build/debug/mmed"
    }()

    struct Result {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    @discardableResult
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Result {
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

enum Repository {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static func path(_ relative: String) -> String { root + "/" + relative }
}

func temporaryDirectory(_ name: String = #function) -> String {
    let path = NSTemporaryDirectory() + "mmedcli-\(name.filter { $0.isLetter || $0.isNumber }.prefix(40))-\(UUID().uuidString.prefix(8))"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Every output file of a filter run (relative path → bytes), with stats.json's timings removed:
/// what must not depend on the number of workers, interruptions or shards.
func outputSnapshot(_ directory: String) throws -> [String: Data] {
    var snapshot: [String: Data] = [:]
    let enumerator = FileManager.default.enumerator(atPath: directory)!
    while let relative = enumerator.nextObject() as? String {
        let path = directory + "/" + relative
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        if isDirectory.boolValue { continue }
        if relative.hasPrefix("units/") { continue }          // markers hold per-unit timings
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        if relative == "stats.json" {
            var object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
            object.removeValue(forKey: "timings")
            data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        }
        snapshot[relative] = data
    }
    return snapshot
}

func stats(_ directory: String) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/stats.json"))) as! [String: Any]
}

/// A JSONL corpus of real-looking records, some medical, big enough for many 1 MiB units.
func makeCorpus(at path: String, records: Int, seed: UInt64 = 7) throws {
    let medical = ["The patient was admitted to hospital with pneumonia and treated with intravenous antibiotics.",
                   "Diagnosis of diabetes requires a fasting blood glucose test; insulin therapy may follow.",
                   "Chemotherapy and radiotherapy are standard treatments for this cancer after surgery.",
                   "Symptoms include fever, cough and chest pain; the physician ordered an x-ray and blood tests.",
                   "Hypertension increases the risk of stroke and heart failure; medication lowers blood pressure."]
    let general = ["The city council approved the new budget for public transport on Tuesday.",
                   "Heavy rain is expected across the region this weekend, forecasters said.",
                   "The home team won the match two goals to one after extra time.",
                   "A new bakery opened downtown, selling bread baked in a wood-fired oven.",
                   "Shares rose sharply after the company reported strong quarterly earnings."]
    var generator = seed
    func next() -> Int {
        generator = generator &* 6364136223846793005 &+ 1442695040888963407
        return Int(generator >> 33)
    }
    var out = ""
    out.reserveCapacity(records * 600)
    for index in 0..<records {
        let pool = next() % 3 == 0 ? medical : general
        let sentences = (0..<(3 + next() % 8)).map { _ in pool[next() % pool.count] }
        let text = sentences.joined(separator: next() % 2 == 0 ? " " : "\n")
        let object: [String: Any] = ["id": "doc-\(index)", "text": text, "url": "https://example.org/\(index)"]
        out += String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self) + "\n"
    }
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try out.write(toFile: path, atomically: true, encoding: .utf8)
}

/// `../shared/data` beside the checkout: tests that need it run in CI (where its absence fails them) and are
/// skipped elsewhere when it is missing.
enum SharedData {
    static let root = Repository.root + "/../shared/data"
    static var available: Bool { FileManager.default.fileExists(atPath: root + "/README.md") }
    static var enabled: Bool { available || ProcessInfo.processInfo.environment["CI"] != nil }
}
