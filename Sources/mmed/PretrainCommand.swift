import ArgumentParser

/// `mmed pretrain`: pretraining data (token windows and shards).
struct Pretrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prepare pretraining data: tokenize a corpus into windows and write shards trainers read.",
        subcommands: []
    )
}
