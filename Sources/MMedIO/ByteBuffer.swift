#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A growable byte buffer over manually managed memory, so that pointers into it stay valid until the
/// next mutation (unlike a pointer taken from an `Array` inside `withUnsafeBytes`). Its state lives behind a
/// pointer, so the hot appends pay no dynamic exclusivity checks (as class stored properties would).
public final class ByteBuffer {
    public struct State {
        var base: UnsafeMutableRawPointer
        var capacity: Int
        var count: Int
    }

    private let state: UnsafeMutablePointer<State>

    public init(capacity: Int = 4096) {
        let capacity = max(capacity, 16)
        state = .allocate(capacity: 1)
        state.initialize(to: State(base: .allocate(byteCount: capacity, alignment: 64), capacity: capacity, count: 0))
    }

    deinit {
        state.pointee.base.deallocate()
        state.deallocate()
    }

    public var base: UnsafeMutableRawPointer { state.pointee.base }
    public var capacity: Int { state.pointee.capacity }

    public var count: Int {
        @inline(__always) get { state.pointee.count }
        @inline(__always) set {
            precondition(newValue >= 0 && newValue <= state.pointee.capacity)
            state.pointee.count = newValue
        }
    }

    @inline(__always)
    public func reserve(_ additional: Int) { writer.reserve(additional) }

    @inline(__always)
    public func append(_ byte: UInt8) { writer.append(byte) }

    @inline(__always)
    public func append(_ bytes: UnsafeRawBufferPointer) { writer.append(bytes) }

    /// A handle that appends without reference counting, for hot loops; valid while this buffer is alive.
    public var writer: Writer { Writer(state: state) }

    /// Appends to a `ByteBuffer` through its state pointer (no retain/release per call).
    public struct Writer {
        let state: UnsafeMutablePointer<State>

        @inline(__always)
        public func reserve(_ additional: Int) {
            if state.pointee.count + additional > state.pointee.capacity { grow(to: state.pointee.count + additional) }
        }

        @inline(never)
        func grow(to minimum: Int) {
            var newCapacity = state.pointee.capacity * 2
            while newCapacity < minimum { newCapacity *= 2 }
            let newBase = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 64)
            newBase.copyMemory(from: state.pointee.base, byteCount: state.pointee.count)
            state.pointee.base.deallocate()
            state.pointee.base = newBase
            state.pointee.capacity = newCapacity
        }

        @inline(__always)
        public func append(_ byte: UInt8) {
            if state.pointee.count == state.pointee.capacity { grow(to: state.pointee.count + 1) }
            state.pointee.base.storeBytes(of: byte, toByteOffset: state.pointee.count, as: UInt8.self)
            state.pointee.count += 1
        }

        @inline(__always)
        public func append(_ bytes: UnsafeRawBufferPointer) {
            guard bytes.count > 0 else { return }
            reserve(bytes.count)
            (state.pointee.base + state.pointee.count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            state.pointee.count += bytes.count
        }

        public func removeAll() { state.pointee.count = 0 }
    }

    public func append(_ string: String) {
        var copy = string
        copy.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    public func append(contentsOf bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Removes the first `count` bytes, moving the rest to the front.
    public func removeFirst(_ prefix: Int) {
        precondition(prefix >= 0 && prefix <= state.pointee.count)
        let rest = state.pointee.count - prefix
        if rest > 0 { memmove(state.pointee.base, state.pointee.base + prefix, rest) }
        state.pointee.count = rest
    }

    public func removeAll() { state.pointee.count = 0 }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: state.pointee.base, count: state.pointee.count) }

    public var array: [UInt8] { Array(bytes) }
}

/// Counts `byte` in `bytes` (memchr: fast on the long lines of corpus files).
public func countOccurrences(of byte: UInt8, in bytes: UnsafeRawBufferPointer) -> Int {
    guard let base = bytes.baseAddress else { return 0 }
    var total = 0
    var position = 0
    while position < bytes.count, let found = memchr(base + position, Int32(byte), bytes.count - position) {
        total += 1
        position = UnsafeRawPointer(found) - base + 1
    }
    return total
}
