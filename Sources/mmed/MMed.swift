import ArgumentParser

@main
struct MMed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mmed",
        abstract: "MMedKit: build multilingual medical language models (corpus, pretraining data, MMedBench).",
        version: "0.1.0",
        subcommands: [Corpus.self, ParquetCommand.self, Tokenize.self, Pretrain.self, Bench.self, Generate.self, Model.self, Train.self]
    )
}

struct Corpus: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Build the medical corpus (MMedC): filter web text by medical keywords, re-tune thresholds.",
        subcommands: [CorpusFilter.self, CorpusRethreshold.self, CorpusStats.self]
    )
}
