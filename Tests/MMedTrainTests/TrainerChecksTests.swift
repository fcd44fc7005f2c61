import Foundation
import MMedIO
import MMedTestSupport
import Testing

/// Whether the Python training stack (torch, transformers, peft) can run here. Without it the training tests fail,
/// unless `MMED_SKIP_TORCH_TESTS` names the reason (then they print it and pass): never a silent skip.
enum TorchStack {
    static let skipReason = ProcessInfo.processInfo.environment["MMED_SKIP_TORCH_TESTS"]

    static let available: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import torch, transformers, peft, accelerate"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    /// True when the test should run; records a failure when the stack is missing and no reason to skip was given.
    static func required(_ test: String) -> Bool {
        if available { return true }
        if let skipReason {
            print("skipped \(test): MMED_SKIP_TORCH_TESTS=\(skipReason)")
            return false
        }
        Issue.record("\(test): torch, transformers, peft or accelerate is missing (scripts/setup installs python/requirements.txt); set MMED_SKIP_TORCH_TESTS=<reason> to skip on purpose")
        return false
    }
}

/// The suites that start torchrun or Slurm, one after another: they share the two cores, the rendezvous port of the
/// recipes and Slurm's fixed ports, and their time limits assume no other training runs beside them.
@Suite(.serialized) enum TrainingRuns {}

extension TrainingRuns {
    /// The distributed loop's own checks (python/tests/run_checks.py, several checks per torchrun launch, FSDP2 on gloo):
    /// parity with the HF Trainer, 2 processes vs 1, activation checkpointing, accumulation invariance, kill and resume,
    /// LoRA, exports, the Megatron reader against an independent one.
    @Suite(.serialized) struct TrainerChecksTests {
        @Test func distributedLoopPassesEveryCheck() throws {
            guard TorchStack.required("the trainer checks") else { return }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", Repository.path("python/tests/run_checks.py")]
            var environment = ProcessInfo.processInfo.environment
            environment["PYTHONPATH"] = Repository.path("python")
            process.environment = environment
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            var passed = 0, failed: [String] = []
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix("{\"check\"") {
                let record = try JSONValue.parse(Array(line.utf8))
                let name = record["check"]?.string ?? "?"
                if record["passed"]?.bool == true { passed += 1 } else { failed.append("\(name): \(line)") }
                print(line)
            }
            #expect(failed.isEmpty, "failed trainer checks:\n\(failed.joined(separator: "\n"))")
            #expect(passed >= 20, "only \(passed) checks reported")
            #expect(process.terminationStatus == 0)
        }
    }
}
