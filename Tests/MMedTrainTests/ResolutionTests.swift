import Foundation
import MMedIO
import MMedPretrain
import MMedTestSupport
import Testing
@testable import MMedTrain

@Suite struct ResolutionTests {
    struct Expected: Sendable, CustomTestStringConvertible {
        var recipe: String
        var task: Recipe.Task
        var world: Int, micro: Int, accumulation: Int, global: Int
        var lr: Double, weightDecay: Double
        var epochs: Int, stepsPerEpoch: Int, totalSteps: Int, warmup: Int
        var lossNormalization: String, padInLoss: Bool, nanGuard: Bool
        var activationCheckpointing: Bool, reshard: Bool
        var checkpointEvery: Int, keep: Int
        var lora: (r: Int, alpha: Double)?
        var exports: [String]
        var testDescription: String { recipe }
    }

    // 1100 sequences of 8 tokens (7 supervised each).
    static let expectations: [Expected] = [
        Expected(recipe: "mmedlm-pretrain", task: .pretrain, world: 8, micro: 8, accumulation: 8, global: 512, lr: 2e-5, weightDecay: 0.01,
                 epochs: 3, stepsPerEpoch: 2, totalSteps: 6, warmup: 1, lossNormalization: "global_tokens", padInLoss: false, nanGuard: true,
                 activationCheckpointing: true, reshard: true, checkpointEvery: 200, keep: 2, lora: nil, exports: ["hf"]),
        Expected(recipe: "mmedlm-pretrain-as-published", task: .pretrain, world: 8, micro: 8, accumulation: 8, global: 512, lr: 2e-5, weightDecay: 0.01,
                 epochs: 3, stepsPerEpoch: 2, totalSteps: 6, warmup: 1, lossNormalization: "per_micro_batch", padInLoss: true, nanGuard: false,
                 activationCheckpointing: true, reshard: true, checkpointEvery: 200, keep: 2, lora: nil, exports: ["hf"]),
        Expected(recipe: "mmedbench-sft-full", task: .sft, world: 4, micro: 4, accumulation: 8, global: 128, lr: 1e-6, weightDecay: 0,
                 epochs: 5, stepsPerEpoch: 8, totalSteps: 40, warmup: 2, lossNormalization: "global_tokens", padInLoss: false, nanGuard: true,
                 activationCheckpointing: true, reshard: true, checkpointEvery: 100, keep: 3, lora: nil, exports: ["hf"]),
        Expected(recipe: "mmedbench-sft-full-as-published", task: .sft, world: 4, micro: 4, accumulation: 8, global: 128, lr: 1e-6, weightDecay: 0,
                 epochs: 5, stepsPerEpoch: 8, totalSteps: 40, warmup: 2, lossNormalization: "per_micro_batch", padInLoss: false, nanGuard: false,
                 activationCheckpointing: true, reshard: true, checkpointEvery: 8, keep: 3, lora: nil, exports: ["hf"]),
        Expected(recipe: "mmedbench-sft-lora", task: .sft, world: 4, micro: 1, accumulation: 32, global: 128, lr: 2e-5, weightDecay: 0,
                 epochs: 3, stepsPerEpoch: 8, totalSteps: 24, warmup: 1, lossNormalization: "global_tokens", padInLoss: false, nanGuard: true,
                 activationCheckpointing: false, reshard: false, checkpointEvery: 100, keep: 3, lora: (16, 32), exports: ["peft", "merged"]),
        Expected(recipe: "mmedbench-sft-lora-as-published", task: .sft, world: 4, micro: 1, accumulation: 32, global: 128, lr: 2e-5, weightDecay: 0,
                 epochs: 3, stepsPerEpoch: 8, totalSteps: 24, warmup: 1, lossNormalization: "per_micro_batch", padInLoss: false, nanGuard: false,
                 activationCheckpointing: false, reshard: false, checkpointEvery: 8, keep: 3, lora: (16, 8), exports: ["peft", "merged"]),
    ]

    @Test(arguments: expectations)
    func recipeResolvesToTheContract(_ expected: Expected) throws {
        let root = temporaryDirectory()
        let resolved = try resolve(expected.recipe, task: expected.task, in: root)
        let config = try parseConfig(resolved)
        // Every key of docs/training-config.md, in its order.
        #expect(config.members?.map(\.key) == ["version", "task", "recipe", "run_dir", "model", "data", "batch", "optimizer", "schedule",
                                                 "training", "lora", "checkpoint", "logging", "export"])
        #expect(config["data"]?.members?.map(\.key) == ["path", "tokens", "loss_mask", "sequences", "sequence_length", "pad_id", "vocab_size", "supervised_tokens"])
        #expect(config["training"]?.members?.map(\.key) == ["epochs", "steps_per_epoch", "total_steps", "seed", "max_grad_norm", "loss_normalization",
                                                             "pad_in_loss", "mixed_precision", "activation_checkpointing", "reshard_after_forward", "nan_guard"])
        #expect(config["version"]?.int == 1)
        #expect(config["task"]?.string == expected.task.rawValue)
        #expect(config["recipe"]?["name"]?.string == expected.recipe)
        #expect(config["recipe"]?["file"]?.string == "\(recipesDirectory)/\(expected.recipe).toml")
        #expect(config["recipe"]?["sha256"]?.string == SHA256.hex(try readWholeFile("\(recipesDirectory)/\(expected.recipe).toml")))
        #expect(config["run_dir"]?.string == absolutePath(root + "/run"))
        #expect(config["model"]?["path"]?.string == absolutePath(root + "/model"))
        #expect(config["model"]?["dtype"]?.string == "float32")
        #expect(config["model"]?["attn_implementation"]?.string == "sdpa")
        #expect(config["data"]?["path"]?.string == absolutePath(root + "/data"))
        #expect(config["data"]?["tokens"]?.array?.compactMap(\.string) == ["tokens_00000", "tokens_00001"])
        #expect(config["data"]?["loss_mask"]?.array?.compactMap(\.string) == ["loss_mask_00000", "loss_mask_00001"])
        #expect(config["data"]?["sequences"]?.int == 1100)
        #expect(config["data"]?["sequence_length"]?.int == 8)
        #expect(config["data"]?["pad_id"]?.int == 2)
        #expect(config["data"]?["vocab_size"]?.int == 100)
        #expect(config["data"]?["supervised_tokens"]?.int == 7700)
        #expect(config["batch"]?["world_size"]?.int == expected.world)
        #expect(config["batch"]?["micro_batch_size"]?.int == expected.micro)
        #expect(config["batch"]?["gradient_accumulation_steps"]?.int == expected.accumulation)
        #expect(config["batch"]?["global_batch_size"]?.int == expected.global)
        #expect(config["optimizer"]?["name"]?.string == "adamw")
        #expect(config["optimizer"]?["lr"]?.number == expected.lr)
        #expect(config["optimizer"]?["betas"]?.array?.compactMap(\.number) == [0.9, 0.999])
        #expect(config["optimizer"]?["eps"]?.number == 1e-8)
        #expect(config["optimizer"]?["weight_decay"]?.number == expected.weightDecay)
        #expect(config["schedule"]?["name"]?.string == "cosine")
        #expect(config["schedule"]?["warmup_steps"]?.int == expected.warmup)
        #expect(config["schedule"]?["min_lr_ratio"]?.number == 0)
        #expect(config["training"]?["epochs"]?.int == expected.epochs)
        #expect(config["training"]?["steps_per_epoch"]?.int == expected.stepsPerEpoch)
        #expect(config["training"]?["total_steps"]?.int == expected.totalSteps)
        #expect(config["training"]?["seed"]?.int == 42)
        #expect(config["training"]?["max_grad_norm"]?.number == 1.0)
        #expect(config["training"]?["loss_normalization"]?.string == expected.lossNormalization)
        #expect(config["training"]?["pad_in_loss"]?.bool == expected.padInLoss)
        #expect(config["training"]?["mixed_precision"]?.string == "bf16")
        #expect(config["training"]?["activation_checkpointing"]?.bool == expected.activationCheckpointing)
        #expect(config["training"]?["reshard_after_forward"]?.bool == expected.reshard)
        #expect(config["training"]?["nan_guard"]?.bool == expected.nanGuard)
        if let lora = expected.lora {
            #expect(config["lora"]?["r"]?.int == lora.r)
            #expect(config["lora"]?["alpha"]?.number == lora.alpha)
            #expect(config["lora"]?["dropout"]?.number == 0.05)
            #expect(config["lora"]?["target_modules"]?.array?.compactMap(\.string) == ["q_proj", "v_proj"])
        } else {
            #expect(config["lora"]?.isNull == true)
        }
        #expect(config["checkpoint"]?["every_steps"]?.int == expected.checkpointEvery)
        #expect(config["checkpoint"]?["keep"]?.int == expected.keep)
        #expect(config["logging"]?["every_steps"]?.int == 1)
        #expect(config["export"]?["formats"]?.array?.compactMap(\.string) == expected.exports)
        #expect(config["export"]?["max_shard_bytes"]?.int == 5_000_000_000)
        // Floats stay floats for Python: no bare 0 for a rate.
        #expect(resolved.config.text.contains("\"min_lr_ratio\": 0.0"))
        #expect(resolved.config.text.contains("\"lr\": \(expected.lr)"))
    }

    @Test func flagsOverrideTheRecipe() throws {
        var overrides = TrainOverrides()
        overrides.nprocPerNode = 2
        overrides.nodes = 2
        overrides.microBatchSize = 2
        overrides.globalBatchSize = 64
        overrides.lr = 3e-5
        overrides.epochs = 1
        overrides.maxSteps = 5
        overrides.seed = 7
        overrides.checkpointEvery = 3
        let resolved = try resolve("mmedlm-pretrain", task: .pretrain, overrides: overrides)
        let config = try parseConfig(resolved)
        #expect(config["batch"]?["world_size"]?.int == 4)
        #expect(config["batch"]?["gradient_accumulation_steps"]?.int == 8)
        #expect(config["batch"]?["global_batch_size"]?.int == 64)
        #expect(config["optimizer"]?["lr"]?.number == 3e-5)
        #expect(config["training"]?["steps_per_epoch"]?.int == 17)  // floor(1100 / 64)
        #expect(config["training"]?["total_steps"]?.int == 5)       // max_steps < 17
        #expect(config["training"]?["seed"]?.int == 7)
        #expect(config["checkpoint"]?["every_steps"]?.int == 3)
        #expect(resolved.droppedPerEpoch == 1100 - 17 * 64)

        var accumulation = TrainOverrides()
        accumulation.nprocPerNode = 2
        accumulation.gradientAccumulationSteps = 3
        let layout = try BatchLayout.resolve(recipe: resolved.recipe, overrides: accumulation)
        #expect(layout.globalBatchSize == 2 * 8 * 3)
    }

    @Test func batchesThatDoNotDivideNameTheFlags() throws {
        var overrides = TrainOverrides()
        overrides.nprocPerNode = 3
        expectError {
            try resolve("mmedlm-pretrain", task: .pretrain, overrides: overrides)
        } matches: { error in
            let text = "\(error)"
            return text.contains("global_batch_size 512") && text.contains("world size 3 (--nodes 1 × --nproc-per-node 3) × --micro-batch-size 8 = 24")
                && text.contains("--global-batch-size")
        }
        overrides = TrainOverrides()
        overrides.globalBatchSize = 100
        expectError {
            try resolve("mmedbench-sft-full", task: .sft, overrides: overrides)
        } matches: { "\($0)".hasPrefix("--global-batch-size 100 is not a multiple of world size 4") }
        overrides = TrainOverrides()
        overrides.globalBatchSize = 128
        overrides.gradientAccumulationSteps = 4
        expectError {
            try resolve("mmedbench-sft-full", task: .sft, overrides: overrides)
        } matches: { "\($0)".hasPrefix("--global-batch-size 128 ≠ world size 4") && "\($0)".contains("--gradient-accumulation-steps 4 = 64") }
        // Fewer sequences than one global batch.
        expectError {
            try resolve("mmedlm-pretrain", task: .pretrain, counts: [100])
        } matches: { "\($0)".contains("holds 100 sequences, fewer than one global batch of 512") }
        // A recipe of the other task.
        expectError {
            try resolve("mmedbench-sft-full", task: .pretrain)
        } matches: { "\($0)".contains("is a sft recipe") }
    }

    @Test func tokenIDsAtOrAboveTheVocabularyNameTheShardAndSequence() throws {
        let root = temporaryDirectory()
        try writeTinyModel(root + "/model", vocabSize: 100)
        try writeTinyDataset(root + "/data", counts: [10, 20], badToken: (shard: 1, sequence: 13, position: 5, id: 100))
        let model = try ModelInfo.inspect(root + "/model")
        expectError {
            try DatasetValidator.validate(data: root + "/data", model: model)
        } matches: { error in
            "\(error)" == "\(absolutePath(root))/data/tokens_00001.bin: sequence 13 has token id 100 at position 5, not below vocab_size 100 of \(absolutePath(root))/model/config.json; the data was tokenized for another model"
        }
        try writeTinyDataset(root + "/negative", counts: [10], badToken: (shard: 0, sequence: 2, position: 0, id: -5))
        expectError {
            try DatasetValidator.validate(data: root + "/negative", model: model)
        } matches: { "\($0)".contains("tokens_00000.bin: sequence 2 has token id -5 at position 0") }
    }

    @Test func brokenDataIsOneLineNamingTheFile() throws {
        let root = temporaryDirectory()
        try writeTinyModel(root + "/model")
        let model = try ModelInfo.inspect(root + "/model")

        // Mask lengths that differ from the tokens'.
        var lengths = [Int32](repeating: 8, count: 10)
        lengths[4] = 7
        lengths[5] = 9
        try writeTinyDataset(root + "/lengths", counts: [10], maskLengths: [0: lengths])
        expectError { try DatasetValidator.validate(data: root + "/lengths", model: model) } matches: {
            "\($0)".hasSuffix("lengths/loss_mask_00000.idx: sequence 4 has 7 values, but 8 tokens in tokens_00000.idx")
        }
        // A different sequence count.
        try writeTinyDataset(root + "/count", counts: [10], maskLengths: [0: [Int32](repeating: 8, count: 9)])
        expectError { try DatasetValidator.validate(data: root + "/count", model: model) } matches: {
            "\($0)".hasSuffix("count/loss_mask_00000.idx: 9 sequences, but tokens_00000.idx has 10; the pair does not match")
        }
        // A bad header.
        try writeTinyDataset(root + "/magic", counts: [10])
        var index = try readWholeFile(root + "/magic/tokens_00000.idx")
        index[0] = UInt8(ascii: "X")
        try AtomicFileWriter.write(index, to: root + "/magic/tokens_00000.idx")
        expectError { try DatasetValidator.validate(data: root + "/magic", model: model) } matches: {
            "\($0)".contains("magic/tokens_00000.idx") && "\($0)".contains("bad magic")
        }
        // The wrong dtype: tokens stored as uint8.
        try writeTinyDataset(root + "/dtype", counts: [10])
        try AtomicFileWriter.write(MegatronIndex(dtype: .uint8, sequenceLengths: [Int32](repeating: 32, count: 10), documentIndices: Array(0...10)).serialized(),
                                   to: root + "/dtype/tokens_00000.idx")
        expectError { try DatasetValidator.validate(data: root + "/dtype", model: model) } matches: {
            "\($0)".contains("dtype/tokens_00000.idx: dtype code 1 (uint8); token shards must be int32 (code 4)")
        }
        // A truncated .bin.
        try writeTinyDataset(root + "/short", counts: [10])
        try AtomicFileWriter.write(Array(try readWholeFile(root + "/short/tokens_00000.bin").dropLast(4)), to: root + "/short/tokens_00000.bin")
        expectError { try DatasetValidator.validate(data: root + "/short", model: model) } matches: {
            "\($0)".contains("short/tokens_00000.bin: 316 bytes, but its index describes 320")
        }
        // A missing loss mask.
        try writeTinyDataset(root + "/nomask", counts: [10])
        removeFile(root + "/nomask/loss_mask_00000.idx")
        expectError { try DatasetValidator.validate(data: root + "/nomask", model: model) } matches: {
            "\($0)".hasSuffix("nomask/loss_mask_00000.idx: missing")
        }
        // No dataset.json.
        try createDirectories(root + "/empty")
        expectError { try DatasetValidator.validate(data: root + "/empty", model: model) } matches: { "\($0)".contains("no dataset.json") }
        // Sequences longer than the model's positions.
        try writeTinyDataset(root + "/long", counts: [10], length: 80)
        expectError { try DatasetValidator.validate(data: root + "/long", model: model) } matches: {
            "\($0)".contains("sequences of up to 80 tokens, but max_position_embeddings is 64")
        }
    }

    @Test func recipesAreFoundByNameOrPathAndCheckedWithLines() throws {
        #expect(try Recipe.locate("mmedlm-pretrain", directories: [recipesDirectory]) == recipesDirectory + "/mmedlm-pretrain.toml")
        #expect(try Recipe.locate(recipesDirectory + "/mmedbench-sft-lora.toml", directories: []) == recipesDirectory + "/mmedbench-sft-lora.toml")
        expectError { try Recipe.locate("nope", directories: [recipesDirectory]) } matches: {
            "\($0)".contains("--recipe nope: no such recipe") && "\($0)".contains("mmedbench-sft-lora-as-published")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: recipesDirectory).filter { $0.hasSuffix(".toml") }.sorted()
        #expect(names == ["mmedbench-sft-full-as-published.toml", "mmedbench-sft-full.toml", "mmedbench-sft-lora-as-published.toml",
                          "mmedbench-sft-lora.toml", "mmedlm-pretrain-as-published.toml", "mmedlm-pretrain.toml"])

        let root = temporaryDirectory()
        var text = try String(contentsOfFile: recipesDirectory + "/mmedlm-pretrain.toml", encoding: .utf8)
        text = text.replacingOccurrences(of: "lr = 2e-5 ", with: "lr = \"fast\" ")
        try AtomicFileWriter.write(text, to: root + "/bad.toml")
        let line = text.components(separatedBy: "\n").firstIndex { $0.hasPrefix("lr = ") }! + 1
        expectError { try Recipe.load(path: root + "/bad.toml") } matches: { "\($0)" == "\(root)/bad.toml:\(line): optimizer.lr must be a number" }

        text = try String(contentsOfFile: recipesDirectory + "/mmedlm-pretrain.toml", encoding: .utf8) + "\n[training2]\nx = 1\n"
        try AtomicFileWriter.write(text, to: root + "/unknown.toml")
        expectError { try Recipe.load(path: root + "/unknown.toml") } matches: { "\($0)".contains("unknown.toml:") && "\($0)".contains("unknown key training2") }
    }
}
