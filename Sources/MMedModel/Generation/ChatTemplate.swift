/// Chat formats of the supported families, written out (no Jinja): the text a chat model expects before its reply.
public enum ChatTemplate: String, Sendable, CaseIterable {
    /// `<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n…<|eot_id|>…assistant<|end_header_id|>\n\n`
    case llama3
    /// ChatML as SmolLM2 and Qwen2 use it: `<|im_start|>user\n…<|im_end|>\n<|im_start|>assistant\n`.
    case chatml
    /// InternLM2-chat: ChatML after `<s>`.
    case internlm2

    public struct Message: Sendable {
        public var role: String
        public var content: String
        public init(role: String, content: String) { self.role = role; self.content = content }
    }

    /// The prompt for `messages`, ending where the assistant's reply starts.
    public func render(_ messages: [Message]) -> String {
        switch self {
        case .llama3:
            var text = "<|begin_of_text|>"
            for m in messages { text += "<|start_header_id|>\(m.role)<|end_header_id|>\n\n\(m.content)<|eot_id|>" }
            return text + "<|start_header_id|>assistant<|end_header_id|>\n\n"
        case .chatml, .internlm2:
            var text = self == .internlm2 ? "<s>" : ""
            for m in messages { text += "<|im_start|>\(m.role)\n\(m.content)<|im_end|>\n" }
            return text + "<|im_start|>assistant\n"
        }
    }

    /// The strings that end a reply.
    public var stopStrings: [String] {
        switch self {
        case .llama3: ["<|eot_id|>"]
        case .chatml, .internlm2: ["<|im_end|>"]
        }
    }
}
