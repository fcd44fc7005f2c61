import Foundation
import MMedIO

/// JSON for `RUN/config.json`: members in order, integers and floats kept apart (a learning rate is written `2e-05`
/// or `0.0`, never `0`, so Python reads a float), printed with two-space indentation.
public indirect enum ConfigJSON: Sendable, Equatable {
    case object([Member])
    case array([ConfigJSON])
    case string(String)
    case int(Int)
    case float(Double)
    case bool(Bool)
    case null

    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: ConfigJSON
        public init(_ key: String, _ value: ConfigJSON) {
            self.key = key
            self.value = value
        }
    }

    /// The document, ending with a newline.
    public var text: String {
        let buffer = ByteBuffer()
        write(to: buffer, indent: 0)
        buffer.append("\n")
        return String(decoding: buffer.bytes, as: UTF8.self)
    }

    private var isScalar: Bool {
        switch self {
        case .object, .array: false
        default: true
        }
    }

    private func write(to buffer: ByteBuffer, indent: Int) {
        switch self {
        case .null: buffer.append("null")
        case .bool(let value): buffer.append(value ? "true" : "false")
        case .int(let value): buffer.appendDecimal(value)
        case .float(let value): buffer.append("\(value)")  // Swift's shortest round-trip form: 2e-05, 0.9, 1.0
        case .string(let value): buffer.appendJSONString(value)
        case .array(let items):
            if items.allSatisfy(\.isScalar) {
                buffer.append("[")
                for (index, item) in items.enumerated() {
                    if index > 0 { buffer.append(", ") }
                    item.write(to: buffer, indent: indent)
                }
                buffer.append("]")
                return
            }
            buffer.append("[\n")
            for (index, item) in items.enumerated() {
                buffer.append(String(repeating: " ", count: indent + 2))
                item.write(to: buffer, indent: indent + 2)
                buffer.append(index + 1 < items.count ? ",\n" : "\n")
            }
            buffer.append(String(repeating: " ", count: indent) + "]")
        case .object(let members):
            if members.isEmpty { buffer.append("{}"); return }
            buffer.append("{\n")
            for (index, member) in members.enumerated() {
                buffer.append(String(repeating: " ", count: indent + 2))
                buffer.appendJSONString(member.key)
                buffer.append(": ")
                member.value.write(to: buffer, indent: indent + 2)
                buffer.append(index + 1 < members.count ? ",\n" : "\n")
            }
            buffer.append(String(repeating: " ", count: indent) + "}")
        }
    }
}

/// Command-line values that override the recipe; nil keeps the recipe's.
public struct TrainOverrides: Sendable, Equatable {
    public var nodes: Int?
    public var nprocPerNode: Int?
    public var microBatchSize: Int?
    public var globalBatchSize: Int?
    public var gradientAccumulationSteps: Int?
    public var lr: Double?
    public var epochs: Int?
    public var maxSteps: Int?
    public var seed: Int?
    public var checkpointEvery: Int?
    public var exportFormats: [String]?
    public init() {}
}

/// The batch arithmetic: world × micro × accumulation = global, exactly.
public struct BatchLayout: Sendable, Equatable {
    public var nodes: Int
    public var nprocPerNode: Int
    public var worldSize: Int { nodes * nprocPerNode }
    public var microBatchSize: Int
    public var gradientAccumulationSteps: Int
    public var globalBatchSize: Int { worldSize * microBatchSize * gradientAccumulationSteps }

    /// The global batch comes from `--global-batch-size` or the recipe and the accumulation is derived from it, unless
    /// `--gradient-accumulation-steps` is given (then the global batch follows, and a `--global-batch-size` given too
    /// must agree). A global batch that world × micro does not divide is an error naming the flags.
    public static func resolve(recipe: Recipe, overrides: TrainOverrides) throws -> BatchLayout {
        let nodes = overrides.nodes ?? recipe.launch.nodes
        let nproc = overrides.nprocPerNode ?? recipe.launch.nprocPerNode
        let micro = overrides.microBatchSize ?? recipe.batch.microBatchSize
        for (flag, value) in [("--nodes", nodes), ("--nproc-per-node", nproc), ("--micro-batch-size", micro)] where value < 1 {
            throw TrainError("\(flag) must be at least 1, not \(value)")
        }
        let world = nodes * nproc
        let perStep = world * micro
        let worldText = "world size \(world) (--nodes \(nodes) × --nproc-per-node \(nproc)) × --micro-batch-size \(micro) = \(perStep)"
        if let accumulation = overrides.gradientAccumulationSteps {
            guard accumulation >= 1 else { throw TrainError("--gradient-accumulation-steps must be at least 1, not \(accumulation)") }
            let layout = BatchLayout(nodes: nodes, nprocPerNode: nproc, microBatchSize: micro, gradientAccumulationSteps: accumulation)
            if let global = overrides.globalBatchSize, global != layout.globalBatchSize {
                throw TrainError("--global-batch-size \(global) ≠ \(worldText) × --gradient-accumulation-steps \(accumulation) = \(layout.globalBatchSize); give one of the two")
            }
            return layout
        }
        let global = overrides.globalBatchSize ?? recipe.batch.globalBatchSize
        let source = overrides.globalBatchSize != nil ? "--global-batch-size \(global)" : "the recipe's global_batch_size \(global) (\(recipe.file))"
        guard global >= 1 else { throw TrainError("--global-batch-size must be at least 1, not \(global)") }
        guard global % perStep == 0 else {
            throw TrainError("\(source) is not a multiple of \(worldText); change --global-batch-size, --micro-batch-size, --nproc-per-node or --nodes")
        }
        return BatchLayout(nodes: nodes, nprocPerNode: nproc, microBatchSize: micro, gradientAccumulationSteps: global / perStep)
    }
}

/// A recipe, the flags, the model and the data resolved into the explicit `RUN/config.json` (docs/training-config.md).
public struct ResolvedTraining: Sendable, Equatable {
    public var task: Recipe.Task
    public var recipe: Recipe
    public var runDirectory: String
    public var model: ModelInfo
    public var data: DatasetSummary
    public var batch: BatchLayout
    public var lr: Double
    public var epochs: Int
    public var stepsPerEpoch: Int
    public var totalSteps: Int
    public var warmupSteps: Int
    public var seed: Int
    public var checkpointEvery: Int
    public var exportFormats: [String]
    /// Sequences left out of every epoch (the tail after the last whole global batch).
    public var droppedPerEpoch: Int { data.sequences - stepsPerEpoch * batch.globalBatchSize }

    public init(task: Recipe.Task, recipe: Recipe, overrides: TrainOverrides, runDirectory: String, model: ModelInfo, data: DatasetSummary) throws {
        guard recipe.task == task else {
            throw TrainError("--recipe \(recipe.name) is a \(recipe.task.rawValue) recipe (\(recipe.file)); use `mmed train \(recipe.task.rawValue)` or an \(task.rawValue) recipe")
        }
        self.task = task
        self.recipe = recipe
        self.runDirectory = absolutePath(runDirectory)
        self.model = model
        self.data = data
        batch = try BatchLayout.resolve(recipe: recipe, overrides: overrides)
        lr = overrides.lr ?? recipe.optimizer.lr
        guard lr > 0, lr.isFinite else { throw TrainError("--lr must be a positive number") }
        epochs = overrides.epochs ?? recipe.training.epochs
        guard epochs >= 1 else { throw TrainError("--epochs must be at least 1, not \(epochs)") }
        seed = overrides.seed ?? recipe.training.seed
        guard seed >= 0 else { throw TrainError("--seed must be 0 or more") }
        exportFormats = overrides.exportFormats ?? recipe.export.formats
        if recipe.lora == nil, let format = exportFormats.first(where: { $0 != "hf" }) {
            throw TrainError("--export-format \(format) needs a LoRA recipe; \(recipe.name) trains the full model (use hf)")
        }

        stepsPerEpoch = data.sequences / batch.globalBatchSize
        guard stepsPerEpoch >= 1 else {
            throw TrainError("--data \(data.path) holds \(data.sequences) sequences, fewer than one global batch of \(batch.globalBatchSize); lower --global-batch-size (or --micro-batch-size, --nproc-per-node)")
        }
        checkpointEvery = overrides.checkpointEvery ?? recipe.checkpoint.everySteps ?? stepsPerEpoch
        guard checkpointEvery >= 1 else { throw TrainError("--checkpoint-every must be at least 1") }
        let maxSteps = overrides.maxSteps ?? recipe.training.maxSteps
        if let maxSteps, maxSteps < 1 { throw TrainError("--max-steps must be at least 1") }
        totalSteps = min(epochs * stepsPerEpoch, maxSteps ?? .max)
        switch recipe.schedule.warmup {
        case .steps(let steps): warmupSteps = steps
        case .ratio(let ratio): warmupSteps = Int((ratio * Double(totalSteps)).rounded(.up))
        }
        guard warmupSteps <= totalSteps else {
            throw TrainError("\(recipe.file): schedule.warmup_steps \(warmupSteps) exceeds the run's \(totalSteps) steps; lower it or train longer (--epochs, --max-steps)")
        }
    }

    public var configPath: String { runDirectory + "/config.json" }

    /// `RUN/config.json`, every key of docs/training-config.md in its order.
    public var config: ConfigJSON {
        typealias M = ConfigJSON.Member
        let lora: ConfigJSON = recipe.lora.map { lora in
            .object([M("r", .int(lora.r)), M("alpha", .float(lora.alpha)), M("dropout", .float(lora.dropout)),
                     M("target_modules", .array(lora.targetModules.map { .string($0) }))])
        } ?? .null
        return .object([
            M("version", .int(1)),
            M("task", .string(task.rawValue)),
            M("recipe", .object([M("name", .string(recipe.name)), M("file", .string(recipe.file)), M("sha256", .string(recipe.sha256))])),
            M("run_dir", .string(runDirectory)),
            M("model", .object([M("path", .string(model.path)), M("dtype", .string(recipe.model.dtype)),
                                M("attn_implementation", .string(recipe.model.attnImplementation))])),
            M("data", .object([
                M("path", .string(data.path)),
                M("tokens", .array(data.shards.map { .string($0.tokens) })),
                M("loss_mask", .array(data.shards.map { .string($0.lossMask) })),
                M("sequences", .int(data.sequences)),
                M("sequence_length", .int(data.sequenceLength)),
                M("pad_id", .int(data.padID)),
                M("vocab_size", .int(data.vocabSize)),
                M("supervised_tokens", .int(Int(data.supervisedTokens))),
            ])),
            M("batch", .object([
                M("world_size", .int(batch.worldSize)),
                M("micro_batch_size", .int(batch.microBatchSize)),
                M("gradient_accumulation_steps", .int(batch.gradientAccumulationSteps)),
                M("global_batch_size", .int(batch.globalBatchSize)),
            ])),
            M("optimizer", .object([
                M("name", .string(recipe.optimizer.name)), M("lr", .float(lr)),
                M("betas", .array(recipe.optimizer.betas.map { .float($0) })), M("eps", .float(recipe.optimizer.eps)),
                M("weight_decay", .float(recipe.optimizer.weightDecay)),
            ])),
            M("schedule", .object([M("name", .string(recipe.schedule.name)), M("warmup_steps", .int(warmupSteps)),
                                   M("min_lr_ratio", .float(recipe.schedule.minLRRatio))])),
            M("training", .object([
                M("epochs", .int(epochs)),
                M("steps_per_epoch", .int(stepsPerEpoch)),
                M("total_steps", .int(totalSteps)),
                M("seed", .int(seed)),
                M("max_grad_norm", .float(recipe.training.maxGradNorm)),
                M("loss_normalization", .string(recipe.training.lossNormalization)),
                M("pad_in_loss", .bool(recipe.training.padInLoss)),
                M("mixed_precision", .string(recipe.training.mixedPrecision)),
                M("activation_checkpointing", .bool(recipe.training.activationCheckpointing)),
                M("reshard_after_forward", .bool(recipe.training.reshardAfterForward)),
                M("nan_guard", .bool(recipe.training.nanGuard)),
            ])),
            M("lora", lora),
            M("checkpoint", .object([M("every_steps", .int(checkpointEvery)), M("keep", .int(recipe.checkpoint.keep))])),
            M("logging", .object([M("every_steps", .int(recipe.loggingEverySteps))])),
            M("export", .object([M("formats", .array(exportFormats.map { .string($0) })), M("max_shard_bytes", .int(recipe.export.maxShardBytes))])),
        ])
    }

    /// A few lines for the terminal: what will run.
    public var summary: [String] {
        var lines = [
            "recipe \(recipe.name) (\(recipe.file)), task \(task.rawValue)",
            "data: \(data.sequences) sequences of up to \(data.sequenceLength) tokens in \(data.shards.count) shard(s), \(data.tokens) tokens, \(data.supervisedTokens) supervised",
            "batch: \(batch.globalBatchSize) = world \(batch.worldSize) (\(batch.nodes) node(s) × \(batch.nprocPerNode)) × micro \(batch.microBatchSize) × accumulation \(batch.gradientAccumulationSteps)",
            "steps: \(stepsPerEpoch) per epoch × \(epochs) epoch(s) → \(totalSteps), warmup \(warmupSteps), lr \(lr) (\(recipe.schedule.name))",
        ]
        if droppedPerEpoch > 0 { lines.append("each epoch leaves out \(droppedPerEpoch) sequence(s) after its last whole global batch") }
        lines += data.notes
        return lines
    }
}
