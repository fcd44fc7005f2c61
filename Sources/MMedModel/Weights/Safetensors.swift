import Foundation
import MMedIO

/// A `.safetensors` file: an 8-byte little-endian header length, a JSON header {name: {dtype, shape,
/// data_offsets}}, then the data. Mapped, not read.
public final class SafetensorsFile: TensorSource, @unchecked Sendable {
    // @unchecked: immutable after init.
    public let file: MappedFile
    private var views: [String: TensorView] = [:]
    public let tensorNames: [String]

    public init(path: String) throws {
        file = try MappedFile(path: path)
        guard file.count >= 8 else { throw ModelError.file(path, "too short for a safetensors header") }
        let headerLength = Int(file.base.loadUnaligned(as: UInt64.self).littleEndian)
        guard headerLength > 0, headerLength <= file.count - 8 else {
            throw ModelError.file(path, "header length \(headerLength) runs past the end of the file (\(file.count) bytes)")
        }
        let header = Array(UnsafeRawBufferPointer(start: file.base + 8, count: headerLength))
        let json: JSONValue
        do { json = try JSONValue.parse(header) } catch { throw ModelError.file(path, "the header is not valid JSON (\(error))") }
        guard let members = json.members else { throw ModelError.file(path, "the header is not a JSON object") }
        let dataStart = 8 + headerLength
        var names: [String] = []
        for (name, entry) in members where name != "__metadata__" {
            guard let dtype = entry["dtype"]?.string, let shape = entry["shape"]?.array?.compactMap(\.int),
                  let offsets = entry["data_offsets"]?.array?.compactMap(\.int), offsets.count == 2 else {
                throw ModelError.file(path, "tensor \(name): expected dtype, shape and data_offsets")
            }
            let type: TensorType
            switch dtype {
            case "F32": type = .f32
            case "F16": type = .f16
            case "BF16": type = .bf16
            default: throw ModelError.file(path, "tensor \(name): dtype \(dtype) is not supported (F32, F16, BF16)")
            }
            let count = shape.reduce(1, *)
            let bytes = offsets[1] - offsets[0]
            guard offsets[0] >= 0, bytes == type.byteCount(of: count), dataStart + offsets[1] <= file.count else {
                throw ModelError.file(path, "tensor \(name): data_offsets \(offsets) do not fit shape \(shape) \(dtype) in the file")
            }
            views[name] = TensorView(name: name, type: type, shape: shape, data: file.base + dataStart + offsets[0], byteCount: bytes)
            names.append(name)
        }
        tensorNames = names
    }

    public func tensor(_ name: String) -> TensorView? { views[name] }
}

/// Several tensor sources as one (a sharded checkpoint).
public struct CombinedTensorSource: TensorSource {
    public let sources: [any TensorSource]
    public var tensorNames: [String] { sources.flatMap(\.tensorNames) }
    public func tensor(_ name: String) -> TensorView? {
        for source in sources { if let view = source.tensor(name) { return view } }
        return nil
    }
}
