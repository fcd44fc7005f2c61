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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // System libraries from Debian's -dev packages (scripts/setup installs them).
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

        .target(name: "MMedIO", dependencies: ["CZstd", "CZlib", "MMedText"]),
        .target(name: "MMedText"),
        .target(
            name: "MMedCorpus",
            dependencies: ["MMedIO", "MMedText"],
            // The lists are compiled in (EmbeddedKeywordLists.swift, from scripts/embed-keywords), so the binary
            // needs no resource bundle beside it.
            exclude: ["Resources"]
        ),
        .executableTarget(
            name: "mmed",
            dependencies: [
                "MMedIO", "MMedText", "MMedCorpus",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        .testTarget(name: "MMedIOTests", dependencies: ["MMedIO"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MMedTextTests", dependencies: ["MMedText"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "MMedCorpusTests",
            dependencies: ["MMedCorpus", "MMedIO", "MMedText"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "MMedCLITests", dependencies: ["MMedIO"]),
    ],
    swiftLanguageModes: [.v6]
)
