import Foundation
import MMedIO

/// A training recipe (`recipes/<name>.toml`): every training choice of `RUN/config.json` that does not depend on the
/// model, the data or the machine. Flags of `mmed train` override some of them.
public struct Recipe: Sendable, Equatable {
    public enum Task: String, Sendable { case pretrain, sft }

    public struct Model: Sendable, Equatable {
        public var dtype: String
        public var attnImplementation: String
    }
    public struct Launch: Sendable, Equatable {
        public var nodes: Int
        public var nprocPerNode: Int
        public var rdzvPort: Int
        public var rdzvTimeoutSeconds: Int
    }
    public struct Batch: Sendable, Equatable {
        public var microBatchSize: Int
        public var globalBatchSize: Int
    }
    public struct Optimizer: Sendable, Equatable {
        public var name: String
        public var lr: Double
        public var betas: [Double]
        public var eps: Double
        public var weightDecay: Double
    }
    public enum Warmup: Sendable, Equatable {
        case steps(Int)
        /// A share of the total steps, rounded up (Hugging Face's `warmup_ratio`).
        case ratio(Double)
    }
    public struct Schedule: Sendable, Equatable {
        public var name: String
        public var warmup: Warmup
        public var minLRRatio: Double
    }
    public struct Training: Sendable, Equatable {
        public var epochs: Int
        public var maxSteps: Int?
        public var seed: Int
        public var maxGradNorm: Double
        public var lossNormalization: String
        public var padInLoss: Bool
        public var mixedPrecision: String
        public var activationCheckpointing: Bool
        public var reshardAfterForward: Bool
        public var nanGuard: Bool
    }
    public struct LoRA: Sendable, Equatable {
        public var r: Int
        public var alpha: Double
        public var dropout: Double
        public var targetModules: [String]
    }
    public struct Checkpoint: Sendable, Equatable {
        /// nil: at the end of each epoch (`every_steps = "epoch"`), resolved to steps_per_epoch.
        public var everySteps: Int?
        public var keep: Int
    }
    public struct Export: Sendable, Equatable {
        public var formats: [String]
        public var maxShardBytes: Int
    }
    public struct Slurm: Sendable, Equatable {
        public var time: String?
        public var partition: String?
        /// Seconds before the time limit at which the batch shell gets SIGUSR1.
        public var graceSeconds: Int
        /// `#SBATCH --gpus-per-node`; nil means `nproc_per_node`, 0 writes none.
        public var gpusPerNode: Int?
    }

    public var name: String
    public var task: Task
    public var description: String
    /// The recipe file (absolute) and its SHA-256.
    public var file: String
    public var sha256: String
    public var model: Model
    public var launch: Launch
    public var batch: Batch
    public var optimizer: Optimizer
    public var schedule: Schedule
    public var training: Training
    public var lora: LoRA?
    public var checkpoint: Checkpoint
    public var loggingEverySteps: Int
    public var export: Export
    public var slurm: Slurm

    /// The recipes folder: `$MMED_RECIPES`, else `recipes/` of the checkout that holds the running executable (or
    /// the current directory).
    public static func defaultDirectories(executable: String = CommandLine.arguments.first ?? "") -> [String] {
        var directories: [String] = []
        if let environment = ProcessInfo.processInfo.environment["MMED_RECIPES"], !environment.isEmpty { directories.append(environment) }
        if let root = repositoryRoot(containing: "recipes", from: executable) { directories.append(root + "/recipes") }
        directories.append(FileManager.default.currentDirectoryPath + "/recipes")
        return directories
    }

    /// `nameOrPath` is a file (it holds a `/` or ends in `.toml`) or the name of a recipe in `directories`.
    public static func locate(_ nameOrPath: String, directories: [String] = defaultDirectories()) throws -> String {
        if nameOrPath.contains("/") || nameOrPath.hasSuffix(".toml") {
            guard fileExists(nameOrPath) else { throw TrainError("--recipe \(nameOrPath): no such file") }
            return absolutePath(nameOrPath)
        }
        for directory in directories where fileExists("\(directory)/\(nameOrPath).toml") {
            return absolutePath("\(directory)/\(nameOrPath).toml")
        }
        let known = Set(directories.flatMap { directory in
            ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".toml") }.map { String($0.dropLast(5)) }
        }).sorted()
        throw TrainError("--recipe \(nameOrPath): no such recipe in \(directories.joined(separator: ", "))"
            + (known.isEmpty ? "" : "; known: \(known.joined(separator: ", "))"))
    }

    /// Reads and checks a recipe file.
    public static func load(path: String) throws -> Recipe {
        let bytes: [UInt8]
        do { bytes = try readWholeFile(path) } catch { throw TrainError("\(path): cannot read the recipe (\(error))") }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw TOMLError(file: path, line: 1, "the recipe is not valid UTF-8") }
        let document = try TOML.parse(text, file: path)
        return try Recipe(document: document, file: absolutePath(path), sha256: SHA256.hex(bytes))
    }

    public init(document: TOMLTable, file: String, sha256: String) throws(TOMLError) {
        let root = RecipeTable(document, path: "", file: file)
        self.file = file
        self.sha256 = sha256

        let recipe = try root.table("recipe")
        name = try recipe.string("name")
        let taskName = try recipe.string("task")
        guard let task = Task(rawValue: taskName) else { throw recipe.error("task", "must be \"pretrain\" or \"sft\", not \"\(taskName)\"") }
        self.task = task
        description = try recipe.string("description")
        try recipe.finish()

        let model = try root.table("model")
        self.model = Model(dtype: try model.string("dtype", oneOf: ["float32", "bfloat16"]),
                           attnImplementation: try model.string("attn_implementation", oneOf: ["sdpa", "eager"]))
        try model.finish()

        let launch = try root.table("launch")
        self.launch = Launch(nodes: try launch.int("nodes", atLeast: 1), nprocPerNode: try launch.int("nproc_per_node", atLeast: 1),
                             rdzvPort: try launch.int("rdzv_port", atLeast: 1, atMost: 65535),
                             rdzvTimeoutSeconds: try launch.int("rdzv_timeout_seconds", atLeast: 1))
        try launch.finish()

        let batch = try root.table("batch")
        self.batch = Batch(microBatchSize: try batch.int("micro_batch_size", atLeast: 1), globalBatchSize: try batch.int("global_batch_size", atLeast: 1))
        try batch.finish()

        let optimizer = try root.table("optimizer")
        let betas = try optimizer.numbers("betas")
        guard betas.count == 2, betas.allSatisfy({ $0 >= 0 && $0 < 1 }) else { throw optimizer.error("betas", "must be two numbers in [0, 1)") }
        self.optimizer = Optimizer(name: try optimizer.string("name", oneOf: ["adamw"]), lr: try optimizer.positive("lr"), betas: betas,
                                   eps: try optimizer.positive("eps"), weightDecay: try optimizer.number("weight_decay", atLeast: 0))
        try optimizer.finish()

        let schedule = try root.table("schedule")
        let scheduleName = try schedule.string("name", oneOf: ["constant", "linear", "cosine"])
        let warmup: Warmup
        switch (schedule.has("warmup_steps"), schedule.has("warmup_ratio")) {
        case (true, false): warmup = .steps(try schedule.int("warmup_steps", atLeast: 0))
        case (false, true):
            let ratio = try schedule.number("warmup_ratio", atLeast: 0)
            guard ratio < 1 else { throw schedule.error("warmup_ratio", "must be below 1") }
            warmup = .ratio(ratio)
        case (true, true): throw schedule.error("warmup_ratio", "give warmup_steps or warmup_ratio, not both")
        case (false, false): throw schedule.missing("warmup_steps (or warmup_ratio)")
        }
        let minLR = try schedule.number("min_lr_ratio", atLeast: 0)
        guard minLR <= 1 else { throw schedule.error("min_lr_ratio", "must be between 0 and 1") }
        self.schedule = Schedule(name: scheduleName, warmup: warmup, minLRRatio: minLR)
        try schedule.finish()

        let training = try root.table("training")
        self.training = Training(
            epochs: try training.int("epochs", atLeast: 1),
            maxSteps: training.has("max_steps") ? try training.int("max_steps", atLeast: 1) : nil,
            seed: try training.int("seed", atLeast: 0),
            maxGradNorm: try training.number("max_grad_norm", atLeast: 0),
            lossNormalization: try training.string("loss_normalization", oneOf: ["global_tokens", "per_micro_batch"]),
            padInLoss: try training.bool("pad_in_loss"),
            mixedPrecision: try training.string("mixed_precision", oneOf: ["bf16", "fp32"]),
            activationCheckpointing: try training.bool("activation_checkpointing"),
            reshardAfterForward: try training.bool("reshard_after_forward"),
            nanGuard: try training.bool("nan_guard"))
        try training.finish()

        if root.has("lora") {
            let lora = try root.table("lora")
            let modules = try lora.strings("target_modules")
            guard !modules.isEmpty else { throw lora.error("target_modules", "must name at least one module") }
            let dropout = try lora.number("dropout", atLeast: 0)
            guard dropout < 1 else { throw lora.error("dropout", "must be below 1") }
            self.lora = LoRA(r: try lora.int("r", atLeast: 1), alpha: try lora.positive("alpha"), dropout: dropout, targetModules: modules)
            try lora.finish()
        } else {
            lora = nil
        }

        let checkpoint = try root.table("checkpoint")
        let every: Int?
        if case .string(let text) = try checkpoint.value("every_steps") {
            guard text == "epoch" else { throw checkpoint.error("every_steps", "must be a number of steps or \"epoch\", not \"\(text)\"") }
            every = nil
        } else {
            every = try checkpoint.int("every_steps", atLeast: 1)
        }
        self.checkpoint = Checkpoint(everySteps: every, keep: try checkpoint.int("keep", atLeast: 1))
        try checkpoint.finish()

        let logging = try root.table("logging")
        loggingEverySteps = try logging.int("every_steps", atLeast: 1)
        try logging.finish()

        let export = try root.table("export")
        let formats = try export.strings("formats")
        for format in formats where !["hf", "peft", "merged"].contains(format) {
            throw export.error("formats", "unknown format \"\(format)\"; use hf, peft or merged")
        }
        if lora == nil, let format = formats.first(where: { $0 != "hf" }) {
            throw export.error("formats", "\"\(format)\" needs a [lora] table; a full fine-tune exports hf")
        }
        self.export = Export(formats: formats, maxShardBytes: try export.int("max_shard_bytes", atLeast: 1 << 20))
        try export.finish()

        let slurm = try root.table("slurm")
        self.slurm = Slurm(time: slurm.has("time") ? try slurm.string("time") : nil,
                           partition: slurm.has("partition") ? try slurm.string("partition") : nil,
                           graceSeconds: try slurm.int("grace_seconds", atLeast: 30),
                           gpusPerNode: slurm.has("gpus_per_node") ? try slurm.int("gpus_per_node", atLeast: 0) : nil)
        try slurm.finish()

        try root.finish()
    }
}

/// Typed access to one table of a recipe; `finish()` rejects the keys nobody asked for.
final class RecipeTable {
    let table: TOMLTable
    let path: String
    let file: String
    private var used: Set<String> = []

    init(_ table: TOMLTable, path: String, file: String) {
        self.table = table
        self.path = path
        self.file = file
    }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
    func has(_ key: String) -> Bool { table[key] != nil }

    func error(_ key: String, _ message: String) -> TOMLError {
        TOMLError(file: file, line: table.line(of: key) ?? table.line, "\(name(key)) \(message)")
    }

    func missing(_ key: String) -> TOMLError {
        TOMLError(file: file, line: table.line, path.isEmpty ? "missing table [\(key)]" : "[\(path)] is missing \(key)")
    }

    func value(_ key: String) throws(TOMLError) -> TOMLValue {
        used.insert(key)
        guard let value = table[key] else { throw missing(key) }
        return value
    }

    func table(_ key: String) throws(TOMLError) -> RecipeTable {
        guard case .table(let child) = try value(key) else { throw error(key, "must be a table") }
        return RecipeTable(child, path: name(key), file: file)
    }

    func string(_ key: String) throws(TOMLError) -> String {
        guard case .string(let text) = try value(key) else { throw error(key, "must be a string") }
        return text
    }

    func string(_ key: String, oneOf allowed: [String]) throws(TOMLError) -> String {
        let text = try string(key)
        guard allowed.contains(text) else { throw error(key, "must be one of \(allowed.map { "\"\($0)\"" }.joined(separator: ", ")), not \"\(text)\"") }
        return text
    }

    func int(_ key: String, atLeast minimum: Int, atMost maximum: Int = .max) throws(TOMLError) -> Int {
        guard case .integer(let value) = try value(key) else { throw error(key, "must be an integer") }
        guard value >= minimum, value <= maximum else {
            throw error(key, maximum == .max ? "must be at least \(minimum), not \(value)" : "must be between \(minimum) and \(maximum), not \(value)")
        }
        return Int(value)
    }

    func number(_ key: String, atLeast minimum: Double) throws(TOMLError) -> Double {
        let number: Double
        switch try value(key) {
        case .float(let value): number = value
        case .integer(let value): number = Double(value)
        default: throw error(key, "must be a number")
        }
        guard number.isFinite, number >= minimum else { throw error(key, "must be a finite number of at least \(minimum)") }
        return number
    }

    func positive(_ key: String) throws(TOMLError) -> Double {
        let number = try self.number(key, atLeast: 0)
        guard number > 0 else { throw error(key, "must be above 0") }
        return number
    }

    func bool(_ key: String) throws(TOMLError) -> Bool {
        guard case .boolean(let flag) = try value(key) else { throw error(key, "must be true or false") }
        return flag
    }

    func strings(_ key: String) throws(TOMLError) -> [String] {
        guard case .array(let items) = try value(key) else { throw error(key, "must be an array of strings") }
        var result: [String] = []
        for item in items {
            guard case .string(let text) = item else { throw error(key, "must be an array of strings") }
            result.append(text)
        }
        return result
    }

    func numbers(_ key: String) throws(TOMLError) -> [Double] {
        guard case .array(let items) = try value(key) else { throw error(key, "must be an array of numbers") }
        var result: [Double] = []
        for item in items {
            switch item {
            case .float(let value): result.append(value)
            case .integer(let value): result.append(Double(value))
            default: throw error(key, "must be an array of numbers")
            }
        }
        return result
    }

    func finish() throws(TOMLError) {
        for entry in table.entries where !used.contains(entry.key) {
            throw TOMLError(file: file, line: entry.line, "unknown key \(name(entry.key))" + (path.isEmpty ? " (a table the recipe format does not have)" : ""))
        }
    }
}

/// A `mmed train` error: one line naming the file or flag and what to do.
public struct TrainError: Error, CustomStringConvertible, Sendable, Equatable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// An absolute, `..`-free form of `path` (relative to the current directory).
public func absolutePath(_ path: String) -> String {
    let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
    return URL(fileURLWithPath: full).standardizedFileURL.path
}

/// The closest folder above `start` (a file or folder) that holds `child`.
func repositoryRoot(containing child: String, from start: String) -> String? {
    guard !start.isEmpty else { return nil }
    var directory = URL(fileURLWithPath: absolutePath(start)).resolvingSymlinksInPath().deletingLastPathComponent()
    for _ in 0..<8 {
        if fileExists(directory.path + "/" + child) && fileExists(directory.path + "/Package.swift") { return directory.path }
        let parent = directory.deletingLastPathComponent()
        if parent.path == directory.path { break }
        directory = parent
    }
    return nil
}
