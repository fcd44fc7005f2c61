import ArgumentParser

/// `mmed tokenize`: encode, decode and count with any supported tokenizer.
struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Encode, decode and count tokens with a tokenizer.json, tiktoken or SentencePiece tokenizer.",
        subcommands: []
    )
}
