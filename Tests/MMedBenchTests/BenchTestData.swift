import Foundation
import MMedBench
import MMedIO
import MMedTestSupport
import MMedText

/// The source samples of ../shared/data/qa imported once per test process into one dataset folder (every source
/// into its MMedBench split; IgakuQA and the first-60 MedQA samples into Test).
enum BenchTestData {
    static let qa = SharedData.path("qa")

    struct Imported {
        var directory: String
        var reports: [BenchSource: ImportReport]
    }

    static let imported: Result<Imported, any Error> = Result {
        let directory = temporaryDirectory("mmedbench-import")
        var reports: [BenchSource: ImportReport] = [:]
        func run(_ source: BenchSource, _ paths: [String], _ options: ImportOptions = ImportOptions(), into folder: String) throws {
            reports[source] = try BenchImporter.run(source: source, paths: paths.map { qa + "/" + $0 }, output: directory + "/" + folder, options: options)
        }
        try run(.frenchmedmcqa, ["frenchmedmcqa-fr"], into: "mmedbench")
        try run(.headqa, ["headqa/es"], into: "mmedbench")
        try run(.rumeddanet, ["rumeddanet-ru"], into: "mmedbench")
        try run(.igakuqa, ["igakuqa-ja"], ImportOptions(split: .test), into: "mmedbench")
        try run(.medqa, ["medqa-usmle-en/medqa_en_first60.jsonl"], ImportOptions(split: .test), into: "mmedbench")
        try run(.medqa, ["medqa-mcmle-zh/medqa_zh_first60.jsonl"], ImportOptions(split: .test), into: "medqa-zh")
        try run(.mmlu, ["english/mmlu_en_medical_first100.jsonl"], into: "mmlu")
        try run(.medmcqa, ["english/medmcqa_dev_first200.jsonl"], into: "medmcqa")
        try run(.pubmedqa, ["english/ori_pqal.json"], into: "pubmedqa")
        return Imported(directory: directory, reports: reports)
    }

    /// Reads a JSON file of ../shared/data with Foundation (independently of our parser) for spot checks.
    static func json(_ relative: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: qa + "/" + relative)))
    }

    static func jsonLines(_ relative: String) throws -> [[String: Any]] {
        try String(contentsOfFile: qa + "/" + relative, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }
}
