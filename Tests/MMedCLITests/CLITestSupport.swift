import Foundation
import MMedTestSupport
import Testing

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
