import Foundation
import MMedIO
import MMedTestSupport
import Testing
@testable import MMedTrain

/// Runs `bash -n` on a script: its syntax only.
func bashSyntaxCheck(_ path: String) throws -> (status: Int32, error: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = ["-n", path]
    let errors = Pipe()
    process.standardError = errors
    try process.run()
    let data = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

@Suite struct LaunchTests {
    @Test func dryRunWritesConfigAndLaunchScript() throws {
        let root = temporaryDirectory()
        try writeTinyModel(root + "/model")
        try writeTinyDataset(root + "/data")
        let result = try MMedCLI.run(["train", "pretrain", "--recipe", "mmedlm-pretrain", "--model", root + "/model", "--data", root + "/data",
                                      "--out", root + "/run", "--nproc-per-node", "2", "--rdzv-port", "29611", "--dry-run"],
                                     environment: ["MMED_RECIPES": recipesDirectory, "MMEDTRAIN_PYTHONPATH": root + "/python"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardError.contains("batch: 512 = world 2 (1 node(s) × 2) × micro 8 × accumulation 32"))
        let config = try JSONValue.parse(try readWholeFile(root + "/run/config.json"))
        #expect(config["batch"]?["world_size"]?.int == 2)
        #expect(config["batch"]?["gradient_accumulation_steps"]?.int == 32)
        #expect(!fileExists(root + "/run/job.sbatch"))
        let script = try String(contentsOfFile: root + "/run/launch.sh", encoding: .utf8)
        #expect(try bashSyntaxCheck(root + "/run/launch.sh").status == 0)
        let run = absolutePath(root + "/run")
        #expect(script.hasPrefix("#!/usr/bin/env bash\n"))
        #expect(script.contains("RUN='\(run)'\n"))
        #expect(script.contains("export PYTHONPATH='\(absolutePath(root + "/python"))'\"${PYTHONPATH:+:$PYTHONPATH}\"\n"))
        #expect(script.contains("exec torchrun \\\n    --nnodes 1 \\\n    --nproc-per-node 2 \\\n    --rdzv-backend c10d \\\n    --rdzv-endpoint 127.0.0.1:29611 \\\n"))
        #expect(script.contains("    --rdzv-id mmed-\(SHA256.hex(Array(run.utf8)).prefix(12)) \\\n"))
        #expect(script.contains("    --log-dir \"$RUN/logs/torchrun\" \\\n"))
        #expect(script.hasSuffix("    -m mmedtrain train \"$RUN/config.json\"\n"))
        #expect(fileExists(root + "/run/logs"))
        let permissions = try FileManager.default.attributesOfItem(atPath: root + "/run/launch.sh")[.posixPermissions] as? Int
        #expect(permissions == 0o755)

        // The same command again is fine (same config); status reads the run.
        let again = try MMedCLI.run(["train", "pretrain", "--recipe", "mmedlm-pretrain", "--model", root + "/model", "--data", root + "/data",
                                     "--out", root + "/run", "--nproc-per-node", "2", "--rdzv-port", "29611", "--dry-run", "--quiet"],
                                    environment: ["MMED_RECIPES": recipesDirectory])
        #expect(again.status == 0, "\(again.standardError)")
        let status = try MMedCLI.run(["train", "status", root + "/run"])
        #expect(status.status == 0)
        #expect(status.standardOutput.contains("checkpoint: none complete yet"))
        #expect(status.standardOutput.contains("metrics: none yet"))
    }

    @Test func dryRunWritesTheSlurmBatchScript() throws {
        let root = temporaryDirectory()
        try writeTinyModel(root + "/model")
        try writeTinyDataset(root + "/data")
        let result = try MMedCLI.run(["train", "sft", "--recipe", "mmedbench-sft-lora", "--model", root + "/model", "--data", root + "/data",
                                      "--out", root + "/run", "--slurm", "--nodes", "2", "--nproc-per-node", "4", "--global-batch-size", "128",
                                      "--partition", "gpu", "--time", "1-00:00:00", "--dry-run"],
                                     environment: ["MMED_RECIPES": recipesDirectory, "MMEDTRAIN_PYTHONPATH": root + "/python"])
        #expect(result.status == 0, "\(result.standardError)")
        let path = root + "/run/job.sbatch"
        let script = try String(contentsOfFile: path, encoding: .utf8)
        #expect(try bashSyntaxCheck(path).status == 0)
        #expect(!fileExists(root + "/run/launch.sh"))
        let run = absolutePath(root + "/run")
        for line in ["#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=1", "#SBATCH --gpus-per-node=4", "#SBATCH --time=1-00:00:00",
                     "#SBATCH --partition=gpu", "#SBATCH --signal=B:USR1@300", "#SBATCH --requeue", "#SBATCH --output=\(run)/logs/slurm-%j.out",
                     "HEAD_NODE=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1)",
                     "trap checkpoint_and_requeue USR1",
                     "        --nnodes 2 \\", "        --nproc-per-node 4 \\", "        --rdzv-backend c10d \\",
                     "        --rdzv-endpoint \"$HEAD_NODE:$RDZV_PORT\" \\", "        --rdzv-id \"$SLURM_JOB_ID\" \\",
                     "        -m mmedtrain train \"$RUN/config.json\" &",
                     "    scontrol requeue \"$SLURM_JOB_ID\""] {
            #expect(script.components(separatedBy: "\n").contains(line), "missing: \(line)")
        }
        #expect(script.contains("srun --ntasks-per-node=1"))
        #expect(script.contains("> \"$RUN/.CHECKPOINT_REQUEST.tmp\" && mv -f \"$RUN/.CHECKPOINT_REQUEST.tmp\" \"$RUN/CHECKPOINT_REQUEST\""))
        // The #SBATCH lines come before any command, as sbatch requires.
        let lines = script.components(separatedBy: "\n")
        let lastDirective = lines.lastIndex { $0.hasPrefix("#SBATCH") }!
        #expect(lines[1...lastDirective].allSatisfy { $0.hasPrefix("#") })
        let config = try JSONValue.parse(try readWholeFile(root + "/run/config.json"))
        #expect(config["batch"]?["world_size"]?.int == 8)
        #expect(config["batch"]?["gradient_accumulation_steps"]?.int == 16)
    }

    @Test func cliErrorsAreOneLineNamingTheFlag() throws {
        let root = temporaryDirectory()
        try writeTinyModel(root + "/model", vocabSize: 50)
        try writeTinyDataset(root + "/data")
        let environment = ["MMED_RECIPES": recipesDirectory]
        let divide = try MMedCLI.run(["train", "pretrain", "--recipe", "mmedlm-pretrain", "--model", root + "/model", "--data", root + "/data",
                                      "--out", root + "/run", "--nproc-per-node", "3", "--dry-run", "--quiet"], environment: environment)
        #expect(divide.status == 2)
        // The tiny dataset's ids are 1 + (sequence + position) % 90: the first ≥ 50 is at sequence 42, position 7.
        #expect(divide.standardError == "error: \(absolutePath(root))/data/tokens_00000.bin: sequence 42 has token id 50 at position 7, not below vocab_size 50 of \(absolutePath(root))/model/config.json; the data was tokenized for another model\n")
        #expect(divide.standardError.split(separator: "\n").count == 1)
        try writeTinyModel(root + "/model", vocabSize: 100)
        let again = try MMedCLI.run(["train", "pretrain", "--recipe", "mmedlm-pretrain", "--model", root + "/model", "--data", root + "/data",
                                     "--out", root + "/run", "--nproc-per-node", "3", "--dry-run", "--quiet"], environment: environment)
        #expect(again.status == 2)
        #expect(again.standardError.hasPrefix("error: the recipe's global_batch_size 512"))
        #expect(again.standardError.contains("--nproc-per-node 3"))
        let nodes = try MMedCLI.run(["train", "pretrain", "--recipe", "mmedlm-pretrain", "--model", root + "/model", "--data", root + "/data",
                                     "--out", root + "/run", "--nodes", "2", "--nproc-per-node", "4", "--dry-run", "--quiet"], environment: environment)
        #expect(nodes.standardError.contains("--nodes 2 without --slurm needs --rdzv-host"))
    }

    @Test func explainsRendezvousTimeouts() {
        let log = "torch.distributed.elastic.rendezvous.api.RendezvousTimeoutError\n"
        #expect(explainLaunchFailure(log: log, runDirectory: "/r")?.hasPrefix("the c10d rendezvous timed out") == true)
        #expect(explainLaunchFailure(log: "/usr/bin/env: torchrun: No such file or directory", runDirectory: "/r")?.contains("not on PATH") == true)
        #expect(explainLaunchFailure(log: "all good", runDirectory: "/r") == nil)
    }
}
