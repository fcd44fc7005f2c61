import ArgumentParser
import Foundation

@main
struct MMed: AsyncParsableCommand {
    /// Unblocks every signal before running: a process started from a thread that blocks some (Swift's test runner,
    /// Dispatch workers) inherits that mask, and would pass it on to torchrun and the trainers `mmed train` starts,
    /// which must see SIGTERM and Slurm's USR1.
    static func main() async {
        var none = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, nil)
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }

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
