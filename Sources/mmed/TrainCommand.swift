import ArgumentParser
import Foundation
import MMedIO
import MMedTrain

/// `mmed train`: resolve a recipe into RUN/config.json, check the data, start torchrun or Slurm, follow metrics.jsonl.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train on PyTorch FSDP: resolve a recipe into RUN/config.json, check the data, launch torchrun or sbatch, follow progress.",
        subcommands: [TrainPretrain.self, TrainSFT.self, TrainResume.self, TrainStatus.self, TrainExport.self]
    )
}

/// The options `pretrain` and `sft` share.
struct TrainStartOptions: ParsableArguments {
    @Option(help: "A recipe name (recipes/NAME.toml; $MMED_RECIPES to look elsewhere) or a .toml file.")
    var recipe: String

    @Option(help: "The model: a Hugging Face folder (config.json + *.safetensors).")
    var model: String

    @Option(help: "The data: a `mmed pretrain prepare` or `mmed bench prepare --tokenized` folder (Megatron shards + dataset.json).")
    var data: String

    @Option(help: "The run folder (config.json, launch.sh or job.sbatch, metrics.jsonl, checkpoints/, logs/).")
    var out: String

    @Option(help: "Processes (GPUs) per node (recipe: launch.nproc_per_node).")
    var nprocPerNode: Int?

    @Option(help: "Nodes (recipe: launch.nodes). Without --slurm, start RUN/launch.sh on each node.")
    var nodes: Int?

    @Option(help: "Sequences per process per forward (recipe: batch.micro_batch_size).")
    var microBatchSize: Int?

    @Option(help: "Sequences per optimizer step (recipe: batch.global_batch_size); must be a multiple of world size × micro batch.")
    var globalBatchSize: Int?

    @Option(help: "Micro-batches per optimizer step; by default global / (world × micro).")
    var gradientAccumulationSteps: Int?

    @Option(help: "Peak learning rate (recipe: optimizer.lr).")
    var lr: Double?

    @Option(help: "Epochs (recipe: training.epochs).")
    var epochs: Int?

    @Option(help: "Stop after this many optimizer steps, if fewer than the epochs give.")
    var maxSteps: Int?

    @Option(help: "Seed of the data order and initialisation (recipe: training.seed).")
    var seed: Int?

    @Option(help: "Steps between checkpoints (recipe: checkpoint.every_steps).")
    var checkpointEvery: Int?

    @Option(name: .customLong("export-format"), help: "Export formats the run is meant for: hf, peft, merged (repeatable; recipe: export.formats).")
    var exportFormats: [String] = []

    @Option(help: "Without --slurm: the rendezvous host every node reaches (default 127.0.0.1 on one node; required on several).")
    var rdzvHost: String?

    @Option(help: "Rendezvous port (recipe: launch.rdzv_port).")
    var rdzvPort: Int?

    @Flag(help: "Write RUN/job.sbatch and submit it with sbatch instead of starting torchrun here.")
    var slurm = false

    @Option(help: "--slurm: the partition (recipe: slurm.partition).")
    var partition: String?

    @Option(help: "--slurm: the time limit, as sbatch reads it (e.g. 2-00:00:00; recipe: slurm.time).")
    var time: String?

    @Option(help: "--slurm: seconds before the time limit at which the job checkpoints and requeues itself (recipe: slurm.grace_seconds).")
    var graceSeconds: Int?

    @Option(help: "--slurm: GPUs per node to request (default: --nproc-per-node; 0 requests none).")
    var gpusPerNode: Int?

    @Flag(help: "Check the data and write RUN/config.json and the launch script, but start nothing.")
    var dryRun = false

    @Flag(help: "--slurm: return once the job is submitted instead of following it.")
    var noFollow = false

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    var overrides: TrainOverrides {
        var overrides = TrainOverrides()
        overrides.nodes = nodes
        overrides.nprocPerNode = nprocPerNode
        overrides.microBatchSize = microBatchSize
        overrides.globalBatchSize = globalBatchSize
        overrides.gradientAccumulationSteps = gradientAccumulationSteps
        overrides.lr = lr
        overrides.epochs = epochs
        overrides.maxSteps = maxSteps
        overrides.seed = seed
        overrides.checkpointEvery = checkpointEvery
        overrides.exportFormats = exportFormats.isEmpty ? nil : exportFormats
        return overrides
    }

    func validate() throws {
        if !slurm {
            for (flag, given) in [("--partition", partition != nil), ("--time", time != nil), ("--grace-seconds", graceSeconds != nil),
                                  ("--gpus-per-node", gpusPerNode != nil), ("--no-follow", noFollow)] where given {
                throw ValidationError("\(flag) applies to --slurm runs")
            }
        } else if rdzvHost != nil {
            throw ValidationError("--rdzv-host applies without --slurm; under Slurm the first host of the allocation is the rendezvous")
        }
        if let rdzvPort, !(1...65535).contains(rdzvPort) { throw ValidationError("--rdzv-port must be between 1 and 65535") }
        if let graceSeconds, graceSeconds < 30 { throw ValidationError("--grace-seconds must be at least 30") }
        for format in exportFormats where !["hf", "peft", "merged"].contains(format) {
            throw ValidationError("--export-format \(format): use hf, peft or merged")
        }
    }

    /// Resolves, checks and writes the run; returns its state and the plan.
    func prepare(task: Recipe.Task) throws -> RunState {
        let recipe = try Recipe.load(path: try Recipe.locate(self.recipe))
        let modelInfo = try ModelInfo.inspect(model)
        if !quiet { printError("train: checking \(data) against \(modelInfo.configFile) (vocab_size \(modelInfo.vocabSize))") }
        let dataset = try DatasetValidator.validate(data: data, model: modelInfo)
        let resolved = try ResolvedTraining(task: task, recipe: recipe, overrides: overrides, runDirectory: out, model: modelInfo, data: dataset)
        let nodes = resolved.batch.nodes
        if !slurm && nodes > 1 && rdzvHost == nil {
            throw TrainError("--nodes \(nodes) without --slurm needs --rdzv-host: the first node's address, which every node's launch.sh joins")
        }
        let python = locatePythonPath()
        let plan = LaunchPlan(
            runDirectory: resolved.runDirectory, pythonPath: python.path, nodes: nodes, nprocPerNode: resolved.batch.nprocPerNode,
            rdzvHost: rdzvHost ?? "127.0.0.1", rdzvPort: rdzvPort ?? recipe.launch.rdzvPort, rdzvTimeoutSeconds: recipe.launch.rdzvTimeoutSeconds,
            slurm: slurm ? LaunchPlan.Slurm(partition: partition ?? recipe.slurm.partition, time: time ?? recipe.slurm.time,
                                            graceSeconds: graceSeconds ?? recipe.slurm.graceSeconds,
                                            gpusPerNode: gpusPerNode ?? recipe.slurm.gpusPerNode ?? resolved.batch.nprocPerNode,
                                            jobName: "mmed-" + recipe.name) : nil)

        let configText = resolved.config.text
        try checkRunFolder(resolved.runDirectory, newConfig: configText)
        try createDirectories(resolved.runDirectory + "/logs")
        try AtomicFileWriter.write(configText, to: resolved.configPath)
        try plan.write(recipe: recipe.name)
        if !quiet {
            for line in resolved.summary { printError("train: " + line) }
            printError("train: wrote \(resolved.configPath) and \(plan.scriptPath)")
            if !python.found { printError("train: note: no mmedtrain package at \(python.path) (set MMEDTRAIN_PYTHONPATH); the launch script names that folder") }
        }
        return try RunState(runDirectory: resolved.runDirectory)
    }

    /// A run folder that already holds another config is refused once the run has started.
    func checkRunFolder(_ directory: String, newConfig: String) throws {
        let path = directory + "/config.json"
        guard fileExists(path) else { return }
        if let existing = try? readWholeFile(path), existing == Array(newConfig.utf8) { return }
        let state = try? RunState(runDirectory: directory)
        if let state, !state.completeCheckpoints.isEmpty || fileExists(directory + "/metrics.jsonl") {
            throw TrainError("--out \(out) holds a started run with another config.json; continue it with `mmed train resume \(out)`, or choose a new --out")
        }
    }

    func run(task: Recipe.Task) throws {
        let state: RunState
        do { state = try prepare(task: task) } catch { throw CleanExit.message("error: \(error)", code: 2) }
        if dryRun {
            if !quiet { printError("train: dry run; start it with `mmed train resume \(out)`") }
            return
        }
        try startRun(state, follow: !noFollow, quiet: quiet)
    }
}

struct TrainPretrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pretrain",
        abstract: "Continued pretraining (e.g. --recipe mmedlm-pretrain) on `mmed pretrain prepare` shards."
    )
    @OptionGroup var options: TrainStartOptions
    func run() throws { try options.run(task: .pretrain) }
}

struct TrainSFT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sft",
        abstract: "Supervised fine-tuning (e.g. --recipe mmedbench-sft-full or mmedbench-sft-lora) on `mmed bench prepare --tokenized` data."
    )
    @OptionGroup var options: TrainStartOptions
    func run() throws { try options.run(task: .sft) }
}

struct TrainResume: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Start a written run again (after --dry-run, a failure or a stop); the trainer resumes from its newest complete checkpoint."
    )
    @Argument(help: "The run folder.") var runFolder: String
    @Flag(help: "Slurm runs: return once the job is submitted.") var noFollow = false
    @Flag(help: "Print nothing but errors.") var quiet = false

    func run() throws {
        let state: RunState
        do {
            state = try RunState(runDirectory: runFolder)
            try recheckData(state)
        } catch { throw CleanExit.message("error: \(error)", code: 2) }
        if !quiet {
            if let newest = state.completeCheckpoints.last { printError("train: resuming from step \(newest.step) (\(newest.path))") }
            else { printError("train: no complete checkpoint yet; the run starts from step 0") }
        }
        try startRun(state, follow: !noFollow, quiet: quiet)
    }

    /// The data must still be what config.json describes (headers and counts; the token scan was done when it was written).
    func recheckData(_ state: RunState) throws {
        guard let modelPath = state.config["model"]?["path"]?.string, let dataPath = state.config["data"]?["path"]?.string else {
            throw TrainError("\(state.runDirectory)/config.json: no model.path or data.path")
        }
        let model = try ModelInfo.inspect(modelPath)
        let data = try DatasetValidator.validate(data: dataPath, model: model, scanTokens: false)
        let listed = state.config["data"]?["tokens"]?.array?.compactMap(\.string) ?? []
        guard listed == data.shards.map(\.tokens), state.config["data"]?["sequences"]?.int == data.sequences else {
            throw TrainError("\(dataPath): the shards or sequence count changed since \(state.runDirectory)/config.json was written; a resumed run must see the same data")
        }
    }
}

struct TrainStatus: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a run: its newest complete checkpoint and its last metrics line."
    )
    @Argument(help: "The run folder.") var runFolder: String

    func run() throws {
        let state: RunState
        do { state = try RunState(runDirectory: runFolder) } catch { throw CleanExit.message("error: \(error)", code: 2) }
        let recipe = state.config["recipe"]?["name"]?.string ?? "?"
        print("run: \(state.runDirectory) (\(state.task), recipe \(recipe), \(state.totalSteps) steps)")
        if let newest = state.completeCheckpoints.last {
            print("checkpoint: step \(newest.step) at \(newest.path)")
        } else {
            print("checkpoint: none complete yet")
        }
        let records = state.lastMetrics()
        var progress = TrainingProgress(totalSteps: state.totalSteps)
        for record in records { progress.add(record) }
        if progress.last != nil { print("metrics: " + progress.statusText) } else { print("metrics: none yet") }
        if progress.finished { print("state: done") }
        if let job = try? String(contentsOfFile: state.runDirectory + "/slurm_job_id", encoding: .utf8) {
            print("slurm job: \(job.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
    }
}

struct TrainExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a checkpoint: hf (sharded safetensors), peft (the LoRA adapter) or merged (LoRA merged into the model)."
    )
    @Argument(help: "The run folder.") var runFolder: String
    @Option(help: "The checkpoint step (default: the newest complete one).") var step: Int?
    @Option(help: "hf, peft or merged.") var format: String
    @Option(help: "The Python that has PyTorch and mmedtrain's requirements.") var python: String = "python3"

    func validate() throws {
        if !["hf", "peft", "merged"].contains(format) { throw ValidationError("--format \(format): use hf, peft or merged") }
    }

    func run() throws {
        let state: RunState
        let checkpoint: Int
        do {
            state = try RunState(runDirectory: runFolder)
            if format != "hf" && !state.hasLoRA { throw TrainError("--format \(format) needs a LoRA run; \(runFolder) trained the full model (use --format hf)") }
            let complete = state.completeCheckpoints
            if let step {
                guard complete.contains(where: { $0.step == step }) else {
                    throw TrainError("--step \(step): no complete checkpoint (\(runFolder)/checkpoints/step_\(String(format: "%08d", step))/COMPLETE); complete: \(complete.map { String($0.step) }.joined(separator: ", "))")
                }
                checkpoint = step
            } else {
                guard let newest = complete.last else { throw TrainError("\(runFolder): no complete checkpoint to export yet") }
                checkpoint = newest.step
            }
        } catch { throw CleanExit.message("error: \(error)", code: 2) }
        let pythonPath = locatePythonPath()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python, "-m", "mmedtrain", "export", state.runDirectory, "--step", String(checkpoint), "--format", format]
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = pythonPath.path + (environment["PYTHONPATH"].map { ":" + $0 } ?? "")
        process.environment = environment
        printError("train: exporting step \(checkpoint) as \(format) into \(state.runDirectory)/export/\(format)/")
        do { try process.run() } catch { throw CleanExit.message("error: cannot start \(python): \(error)", code: 2) }
        process.waitUntilExit()
        let status = exitStatus(of: process)
        if status != 0 { throw CleanExit.message("error: the export failed (exit \(status)); see the output above", code: status) }
    }
}

// MARK: starting and following

func exitStatus(of process: Process) -> Int32 {
    process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
}

/// Starts `launch.sh` (output to logs/launcher.log) or submits `job.sbatch`, then follows metrics.jsonl until it ends.
func startRun(_ state: RunState, follow: Bool, quiet: Bool) throws {
    guard let script = state.launchScript else {
        throw CleanExit.message("error: \(state.runDirectory) has neither launch.sh nor job.sbatch; write the run again with `mmed train pretrain|sft`", code: 2)
    }
    if script.slurm {
        try submitAndFollow(state, script: script.path, follow: follow, quiet: quiet)
        return
    }
    let logPath = state.runDirectory + "/logs/launcher.log"
    do { try createDirectories(state.runDirectory + "/logs") } catch { throw CleanExit.message("error: \(error)", code: 2) }
    if !fileExists(logPath) { _ = FileManager.default.createFile(atPath: logPath, contents: nil) }
    guard let log = FileHandle(forWritingAtPath: logPath) else { throw CleanExit.message("error: \(logPath): cannot open", code: 2) }
    _ = try? log.seekToEnd()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = [script.path]
    process.currentDirectoryURL = URL(fileURLWithPath: state.runDirectory)
    process.standardOutput = log
    process.standardError = log
    do { try process.run() } catch { throw CleanExit.message("error: cannot start \(script.path): \(error)", code: 2) }
    if !quiet { printError("train: started \(script.path) (pid \(process.processIdentifier)); output in \(logPath)") }
    let progress = followMetrics(state, quiet: quiet) { !process.isRunning }
    process.waitUntilExit()
    try? log.close()
    let status = exitStatus(of: process)
    try finish(state, progress: progress, status: status, logPath: logPath, quiet: quiet)
}

func finish(_ state: RunState, progress: TrainingProgress, status: Int32, logPath: String, quiet: Bool) throws {
    if status == 0 {
        if !quiet { printError("train: " + (progress.finished ? "done" : "ended") + (progress.last.map { " at step \($0.step)" } ?? "") + "; `mmed train export \(state.runDirectory) --format hf` writes the model") }
        return
    }
    let tail = tailOfFile(logPath, bytes: 65536)
    let reason = explainLaunchFailure(log: tail, runDirectory: state.runDirectory) ?? "see \(logPath) and \(state.runDirectory)/logs/"
    throw CleanExit.message("error: training failed (exit \(status)): \(reason)", code: status)
}

func tailOfFile(_ path: String, bytes: UInt64) -> String {
    guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
    defer { try? handle.close() }
    guard let size = try? handle.seekToEnd() else { return "" }
    try? handle.seek(toOffset: size > bytes ? size - bytes : 0)
    return String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
}

/// Follows metrics.jsonl until `ended()` says the launcher is gone: a status line on a terminal, checkpoint and
/// non-finite-loss events as lines, nothing per step in logs.
func followMetrics(_ state: RunState, quiet: Bool, ended: () -> Bool) -> TrainingProgress {
    let follower = MetricsFollower(path: state.runDirectory + "/metrics.jsonl")
    var progress = TrainingProgress(totalSteps: state.totalSteps)
    for record in follower.poll() { progress.add(record) }  // a resumed run's earlier lines
    let terminal = !quiet && standardErrorIsTerminal
    var lastDrawn = ""
    while true {
        let over = ended()
        for record in follower.poll() {
            progress.add(record)
            guard !quiet else { continue }
            let line: String?
            switch record {
            case .checkpoint(let step, let path): line = "train: checkpoint at step \(step): \(path)"
            case .nan(let step): line = "train: step \(step) skipped: non-finite loss or gradient norm"
            case .done(let step): line = "train: finished at step \(step)"
            default: line = nil
            }
            if let line {
                if terminal { FileHandle.standardError.write("\r\u{1B}[K".data(using: .utf8)!); lastDrawn = "" }
                printError(line)
            }
        }
        if terminal {
            let text = "train: " + progress.statusText
            if text != lastDrawn {
                FileHandle.standardError.write(("\r\u{1B}[K" + text).data(using: .utf8)!)
                lastDrawn = text
            }
        }
        if over { break }
        Thread.sleep(forTimeInterval: 0.5)
    }
    if terminal && !lastDrawn.isEmpty { FileHandle.standardError.write("\n".data(using: .utf8)!) }
    return progress
}

/// Runs a command and returns its status and standard output.
func runCapturing(_ arguments: [String], in directory: String? = nil) -> (status: Int32, output: String, error: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    do { try process.run() } catch { return (127, "", "\(error)") }
    let output = out.fileHandleForReading.readDataToEndOfFile()
    let errors = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (exitStatus(of: process), String(decoding: output, as: UTF8.self), String(decoding: errors, as: UTF8.self))
}

func submitAndFollow(_ state: RunState, script: String, follow: Bool, quiet: Bool) throws {
    let submitted = runCapturing(["sbatch", "--parsable", script], in: state.runDirectory)
    guard submitted.status == 0, let job = submitted.output.split(separator: ";").first?.trimmingCharacters(in: .whitespacesAndNewlines), !job.isEmpty else {
        let message = submitted.error.split(separator: "\n").last.map(String.init) ?? "exit \(submitted.status)"
        throw CleanExit.message("error: sbatch \(script) failed: \(message)", code: 2)
    }
    try? AtomicFileWriter.write(job + "\n", to: state.runDirectory + "/slurm_job_id")
    if !quiet { printError("train: submitted Slurm job \(job); logs in \(state.runDirectory)/logs/ (`mmed train status \(state.runDirectory)`)") }
    guard follow else { return }
    var lastCheck = Date.distantPast
    var finalState = ""
    let progress = followMetrics(state, quiet: quiet) {
        guard Date().timeIntervalSince(lastCheck) >= 10 else { return false }
        lastCheck = Date()
        let queue = runCapturing(["squeue", "-h", "-j", job, "-o", "%T"])
        let jobState = queue.output.trimmingCharacters(in: .whitespacesAndNewlines)
        if queue.status == 0 && !jobState.isEmpty { return false }
        // Gone from the queue: its final state, while slurmctld still remembers it.
        let shown = runCapturing(["scontrol", "show", "job", job, "-o"]).output
        finalState = shown.split(separator: " ").first { $0.hasPrefix("JobState=") }.map { String($0.dropFirst(9)) } ?? ""
        if ["PENDING", "RUNNING", "REQUEUED", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUE_HOLD", "REQUEUE_FED"].contains(finalState) { return false }
        return true
    }
    let status: Int32 = finalState == "COMPLETED" || (finalState.isEmpty && progress.finished) ? 0 : 1
    try finish(state, progress: progress, status: status, logPath: state.runDirectory + "/logs/slurm-\(job).out", quiet: quiet)
}
