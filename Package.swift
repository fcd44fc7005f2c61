// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "MMedKit",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mmed", targets: ["mmed"]),
        .library(name: "MMedIO", targets: ["MMedIO"]),
        .library(name: "MMedText", targets: ["MMedText"]),
        .library(name: "MMedCorpus", targets: ["MMedCorpus"]),
        .library(name: "Parquet", targets: ["Parquet"]),
        .library(name: "MMedTokenizers", targets: ["MMedTokenizers"]),
        .library(name: "MMedPretrain", targets: ["MMedPretrain"]),
        .library(name: "MMedMetrics", targets: ["MMedMetrics"]),
        .library(name: "MMedBench", targets: ["MMedBench"]),
        .library(name: "MMedModel", targets: ["MMedModel"]),
        .library(name: "MMedTrain", targets: ["MMedTrain"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // System libraries from Debian's -dev packages (scripts/setup installs them).
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),
        .systemLibrary(name: "CLz4", pkgConfig: "liblz4", providers: [.apt(["liblz4-dev"])]),
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        .systemLibrary(name: "CBrotli", pkgConfig: "libbrotlidec", providers: [.apt(["libbrotli-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),

        // Optimized even in debug builds: tests parse Llama 3's 9 MB tokenizer.json and GBs of JSONL through it.
        .target(
            name: "MMedIO", dependencies: ["CZstd", "CZlib", "MMedText"],
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]
        ),
        // Optimized even in debug builds: the segmentation parity tests load jieba's and janome's dictionaries.
        .target(name: "MMedText", swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        // A standalone Parquet reader: nothing MMed-specific, only the codecs' C libraries.
        .target(name: "Parquet", dependencies: ["CZstd", "CZlib", "CSnappy", "CLz4", "CDeflate", "CBrotli"]),
        .target(
            name: "MMedCorpus",
            dependencies: ["MMedIO", "MMedText", "Parquet"],
            // The lists are compiled in (EmbeddedKeywordLists.swift, from scripts/embed-keywords), so the binary
            // needs no resource bundle beside it.
            exclude: ["Resources"]
        ),
        // Optimized even in debug builds: the parity tests tokenize ~24 MB per tokenizer, which unoptimized code
        // takes minutes for.
        .target(name: "MMedTokenizers", dependencies: ["MMedIO"], swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        // Token windows and shard writers; it takes a `Tokenizer` and reads corpora through MMedCorpus' inputs.
        .target(name: "MMedPretrain", dependencies: ["MMedTokenizers", "MMedIO", "MMedCorpus", "Parquet"]),
        // BLEU and ROUGE in the exact variants of nltk and the `rouge` package; no I/O.
        .target(name: "MMedMetrics", dependencies: ["MMedText"]),
        // The engine's mat-vec kernels, in C with AVX2/FMA/F16C intrinsics (our code).
        .target(name: "CMMedKernels", cSettings: [.unsafeFlags(["-O3", "-mavx2", "-mfma", "-mf16c"])]),
        // The native engine: checkpoints (safetensors, GGUF), kernels, Llama-family forward pass, sampling, generation.
        // Optimized even in debug builds (the parity tests run models) and compiled for a CPU with FMA and AVX2, which
        // Swift's SIMD types need to become vector instructions (../shared/MACHINE-NOTES.md).
        .target(
            name: "MMedModel", dependencies: ["COpenBLAS", "CMMedKernels", "MMedIO", "MMedTokenizers"],
            swiftSettings: [
                .unsafeFlags(["-Xcc", "-mavx2", "-Xcc", "-mfma", "-Xcc", "-mf16c", "-target-cpu", "haswell"]),
                .unsafeFlags(["-O"], .when(configuration: .debug)),
            ]
        ),
        // The MMedBench dataset, importers, prompts, results files, answer extraction and scoring.
        .target(name: "MMedBench", dependencies: ["MMedIO", "MMedText", "MMedMetrics"]),
        // `mmed train`: recipes (TOML), RUN/config.json, data checks, torchrun/Slurm scripts, following metrics.jsonl.
        // The training itself is PyTorch FSDP in python/mmedtrain.
        .target(name: "MMedTrain", dependencies: ["MMedIO", "MMedPretrain"]),
        .executableTarget(
            name: "mmed",
            dependencies: [
                "MMedIO", "MMedText", "MMedCorpus", "Parquet", "MMedTokenizers", "MMedPretrain", "MMedMetrics", "MMedBench", "MMedModel", "MMedTrain",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .testTarget(name: "MMedIOTests", dependencies: ["MMedIO"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MMedTextTests", dependencies: ["MMedText", "MMedIO", "MMedTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "MMedCorpusTests",
            dependencies: ["MMedCorpus", "MMedIO", "MMedText"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "ParquetTests", dependencies: ["Parquet"]),
        // What the test targets share: the repository and ../shared/data paths, temporary folders, running `mmed`.
        .target(name: "MMedTestSupport", path: "Tests/MMedTestSupport"),
        .testTarget(name: "MMedCLITests", dependencies: ["MMedIO", "Parquet", "MMedTestSupport"]),
        .testTarget(name: "MMedTokenizersTests", dependencies: ["MMedTokenizers", "MMedIO", "MMedTestSupport"]),
        // MMedCorpus: the tests build job configurations from `InputFile`s (expandInputs).
        .testTarget(name: "MMedPretrainTests", dependencies: ["MMedPretrain", "MMedTokenizers", "MMedIO", "MMedCorpus", "MMedTestSupport"]),
        .testTarget(name: "MMedMetricsTests", dependencies: ["MMedMetrics", "MMedText", "MMedIO", "MMedTestSupport"]),
        .testTarget(name: "MMedModelTests", dependencies: ["MMedModel", "MMedTokenizers", "MMedIO", "MMedTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MMedTrainTests", dependencies: ["MMedTrain", "MMedPretrain", "MMedModel", "MMedIO", "MMedTestSupport"]),
        .testTarget(name: "MMedBenchTests", dependencies: ["MMedBench", "MMedMetrics", "MMedText", "MMedIO", "MMedTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
