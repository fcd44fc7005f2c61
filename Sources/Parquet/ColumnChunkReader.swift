/// Reads one column chunk page by page with positioned reads: the pages' headers are parsed from a small
/// read-ahead window, bodies that do not fit it are read straight into their destination. It holds at most
/// the window, one compressed page, one decoded page and the dictionary.
public final class ColumnChunkReader {
    public let column: ColumnDescriptor
    public let metaData: ColumnMetaData
    public let rowGroup: Int
    let file: ParquetFile
    /// File offsets of the chunk.
    public let chunkStart: Int64
    public let chunkEnd: Int64
    private var position: Int64
    private var window: UnsafeMutableRawBufferPointer
    private var windowOffset: Int64 = 0
    private var windowCount = 0
    private var scratch = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private let decompressor: Decompressor
    private var dictionary: ColumnValues?
    private var pageIndex = 0
    /// Value slots (nulls included) read so far.
    public private(set) var slotsRead: Int64 = 0

    static let windowSize = 64 << 10
    static let maximumHeaderSize = 16 << 20

    init(file: ParquetFile, rowGroup: Int, column: ColumnDescriptor) throws {
        self.file = file
        self.rowGroup = rowGroup
        self.column = column
        let location = ParquetLocation(file: file.path, rowGroup: rowGroup, column: column.name)
        let chunk = file.metadata.rowGroups[rowGroup].columns[column.index]
        if let external = chunk.filePath, !external.isEmpty {
            throw ParquetError(.unsupported, location, "the column data is in another file (\(external)); only single-file Parquet is supported")
        }
        guard let metaData = chunk.metaData else { throw ParquetError(.badMetadata, location, "the column chunk has no metadata") }
        self.metaData = metaData
        guard metaData.type == column.physicalType else {
            throw ParquetError(.badMetadata, location, "the chunk's type \(metaData.type) differs from the schema's \(column.physicalType)")
        }
        var start = metaData.dataPageOffset
        // The dictionary page comes first when there is one; a chunk without data pages (pyarrow's zero-row row
        // groups) may have data_page_offset 0.
        if let dictionaryOffset = metaData.dictionaryPageOffset, dictionaryOffset >= 4, dictionaryOffset < start || start < 4 {
            start = dictionaryOffset
        }
        let dataEnd = file.size - 8 - Int64(file.footerLength)
        guard start >= 4, metaData.totalCompressedSize >= 0, metaData.valueCount >= 0,
              start <= dataEnd, metaData.totalCompressedSize <= dataEnd - start else {
            throw ParquetError(.badMetadata, location,
                               "the chunk's bytes (offset \(start), \(metaData.totalCompressedSize) bytes) lie outside the file's data (4..<\(dataEnd))")
        }
        chunkStart = start
        chunkEnd = start + metaData.totalCompressedSize
        position = start
        do { decompressor = try Decompressor(codec: metaData.codec) } catch let failure as DecodeFailure {
            throw ParquetError(.unsupported, location, failure.message)
        }
        window = .allocate(byteCount: Self.windowSize, alignment: 16)
    }

    deinit {
        window.deallocate()
        scratch.deallocate()
    }

    private func location(page: Int? = nil, offset: Int64? = nil) -> ParquetLocation {
        ParquetLocation(file: file.path, rowGroup: rowGroup, column: column.name, page: page, offset: offset)
    }

    /// Makes the window hold at least `count` bytes from `offset` (fewer at the chunk's end).
    private func fill(from offset: Int64, count: Int) throws {
        let wanted = Int(min(Int64(max(count, Self.windowSize)), chunkEnd - offset))
        if wanted > window.count {
            window.deallocate()
            window = .allocate(byteCount: wanted, alignment: 16)
        }
        try file.read(into: UnsafeMutableRawBufferPointer(rebasing: window[0..<wanted]), at: offset, location: location(page: pageIndex, offset: offset))
        windowOffset = offset
        windowCount = wanted
    }

    /// The bytes at [offset, offset + count) if the window holds them.
    private func windowed(_ offset: Int64, _ count: Int) -> UnsafeRawBufferPointer? {
        guard offset >= windowOffset, offset + Int64(count) <= windowOffset + Int64(windowCount) else { return nil }
        return UnsafeRawBufferPointer(start: window.baseAddress! + Int(offset - windowOffset), count: count)
    }

    private func readHeader() throws -> (PageHeader, Int) {
        var attempt = Self.windowSize
        while true {
            let available = Int(min(Int64(attempt), chunkEnd - position))
            if windowed(position, available) == nil || (windowOffset + Int64(windowCount) - position) < Int64(available) {
                try fill(from: position, count: available)
            }
            let bytes = UnsafeRawBufferPointer(start: window.baseAddress! + Int(position - windowOffset),
                                               count: Int(windowOffset + Int64(windowCount) - position))
            var reader = ThriftReader(bytes)
            do {
                let header = try PageHeader(thrift: &reader)
                return (header, reader.position)
            } catch is ThriftReader.Truncated {
                if Int64(bytes.count) >= chunkEnd - position {
                    throw ParquetError(.corruptPage, location(page: pageIndex, offset: position), "the page header runs past the end of the column chunk")
                }
                guard attempt < Self.maximumHeaderSize else {
                    throw ParquetError(.corruptPage, location(page: pageIndex, offset: position), "the page header is longer than \(Self.maximumHeaderSize) bytes")
                }
                attempt *= 4
            } catch let failure as DecodeFailure {
                throw ParquetError(.corruptPage, location(page: pageIndex, offset: position), "bad page header: \(failure.message)")
            }
        }
    }

    /// Calls `body` with the page body's compressed bytes at `offset`.
    private func withBody<R>(at offset: Int64, count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        if let bytes = windowed(offset, count) { return try body(bytes) }
        if count <= Self.windowSize {
            try fill(from: offset, count: count)
            return try body(windowed(offset, count)!)
        }
        if scratch.count < count {
            scratch.deallocate()
            scratch = .allocate(byteCount: count, alignment: 16)
        }
        let target = UnsafeMutableRawBufferPointer(rebasing: scratch[0..<count])
        try file.read(into: target, at: offset, location: location(page: pageIndex, offset: offset))
        return try body(UnsafeRawBufferPointer(target))
    }

    /// The next data page, decoded; nil after the chunk's last value.
    public func nextPage() throws -> DataPage? {
        while slotsRead < metaData.valueCount {
            guard position < chunkEnd else {
                throw ParquetError(.corruptPage, location(page: pageIndex, offset: position),
                                   "the column chunk ends after \(slotsRead) of its \(metaData.valueCount) values")
            }
            let headerOffset = position
            let (header, headerLength) = try readHeader()
            let index = pageIndex
            let bodyOffset = headerOffset + Int64(headerLength)
            let compressedSize = Int(header.compressedSize), uncompressedSize = Int(header.uncompressedSize)
            let here = location(page: index, offset: headerOffset)
            guard Int64(compressedSize) <= chunkEnd - bodyOffset else {
                throw ParquetError(.corruptPage, here, "the page claims \(compressedSize) bytes, the column chunk has \(chunkEnd - bodyOffset) left")
            }
            // A page cannot decompress to more than its whole chunk does (the total counts headers too).
            if metaData.totalUncompressedSize > 0 && Int64(uncompressedSize) > metaData.totalUncompressedSize {
                throw ParquetError(.corruptPage, here, "the page claims \(uncompressedSize) uncompressed bytes, more than its whole column chunk (\(metaData.totalUncompressedSize))")
            }
            position = bodyOffset + Int64(compressedSize)
            pageIndex += 1
            let info = PageInfo(index: index, type: header.type, encoding: .plain, compressedSize: compressedSize,
                                uncompressedSize: uncompressedSize, valueCount: 0, offset: headerOffset, headerSize: headerLength)
            do {
                switch header.type {
                case .dictionaryPage:
                    guard let dictionaryHeader = header.dictionaryPage else { throw DecodeFailure("dictionary page without its header") }
                    guard dictionary == nil else { throw DecodeFailure("a second dictionary page in one column chunk") }
                    let storage = try body(at: bodyOffset, compressedSize: compressedSize, uncompressedSize: uncompressedSize, levelsLength: 0, compressed: true)
                    dictionary = try decodeDictionary(storage, header: dictionaryHeader)
                case .dataPage, .dataPageV2:
                    let page = try decodeDataPage(header, info: info, bodyOffset: bodyOffset)
                    slotsRead += Int64(page.slotCount)
                    guard slotsRead <= metaData.valueCount else {
                        throw DecodeFailure("the pages hold more values than the chunk's \(metaData.valueCount)")
                    }
                    return page
                default:
                    continue   // index pages and page types this reader does not know carry no values
                }
            } catch let failure as DecodeFailure {
                throw ParquetError(.corruptPage, here, failure.message)
            } catch is ThriftReader.Truncated {
                throw ParquetError(.corruptPage, here, "truncated structure in the page")
            }
        }
        return nil
    }

    /// The page's stored bytes made whole: levels (v2, stored uncompressed) followed by the decompressed rest.
    private func body(at offset: Int64, compressedSize: Int, uncompressedSize: Int, levelsLength: Int, compressed: Bool) throws -> [UInt8] {
        guard levelsLength <= compressedSize, levelsLength <= uncompressedSize else {
            throw DecodeFailure("the levels (\(levelsLength) bytes) are longer than the page")
        }
        let codec = compressed ? metaData.codec : .uncompressed
        if codec == .uncompressed {
            guard compressedSize == uncompressedSize else {
                throw DecodeFailure("uncompressed page holds \(compressedSize) bytes, its header says \(uncompressedSize)")
            }
            if windowed(offset, compressedSize) == nil && compressedSize > Self.windowSize {
                // Large uncompressed page: read it straight into its own buffer.
                return try [UInt8](unsafeUninitializedCapacity: uncompressedSize) { buffer, initialized in
                    initialized = uncompressedSize
                    try file.read(into: UnsafeMutableRawBufferPointer(buffer), at: offset, location: location(page: pageIndex - 1, offset: offset))
                }
            }
        }
        return try withBody(at: offset, count: compressedSize) { stored in
            try [UInt8](unsafeUninitializedCapacity: uncompressedSize) { buffer, initialized in
                initialized = uncompressedSize
                let out = UnsafeMutableRawBufferPointer(buffer)
                if levelsLength > 0 {
                    out.baseAddress!.copyMemory(from: stored.baseAddress!, byteCount: levelsLength)
                }
                let rest = UnsafeRawBufferPointer(rebasing: stored[levelsLength...])
                let target = UnsafeMutableRawBufferPointer(rebasing: out[levelsLength...])
                if codec == .uncompressed {
                    guard rest.count == target.count else { throw DecodeFailure("page holds \(rest.count) value bytes, its header says \(target.count)") }
                    if rest.count > 0 { target.baseAddress!.copyMemory(from: rest.baseAddress!, byteCount: rest.count) }
                } else {
                    try decompressor.decompress(rest, into: target)
                }
            }
        }
    }

    private func decodeDictionary(_ storage: [UInt8], header: DictionaryPageHeader) throws -> ColumnValues {
        guard header.encoding == .plain || header.encoding == .plainDictionary else {
            throw DecodeFailure("dictionary page in encoding \(header.encoding); expected PLAIN")
        }
        guard header.valueCount >= 0 else { throw DecodeFailure("dictionary page with \(header.valueCount) values") }
        return try storage.withUnsafeBytes { raw in
            var input = PageBytes(raw)
            return try decodePlain(&input, count: Int(header.valueCount), storage: storage)
        }
    }

    private func decodePlain(_ input: inout PageBytes, count: Int, storage: [UInt8]) throws -> ColumnValues {
        switch column.physicalType {
        case .boolean: return .boolean(try decodePlainBooleans(&input, count: count))
        case .int32: return .int32(try decodePlainFixed(&input, count: count, as: Int32.self))
        case .int64: return .int64(try decodePlainFixed(&input, count: count, as: Int64.self))
        case .int96: return .int96(try decodePlainInt96(&input, count: count))
        case .float: return .float(try decodePlainFixed(&input, count: count, as: UInt32.self).map { Float(bitPattern: $0) })
        case .double: return .double(try decodePlainFixed(&input, count: count, as: UInt64.self).map { Double(bitPattern: $0) })
        case .byteArray:
            guard count <= input.remaining / 4 else { throw DecodeFailure("\(count) PLAIN byte arrays cannot fit the page's \(input.remaining) bytes") }
            return .bytes(try decodePlainByteArrays(&input, count: count, storage: storage, storageOffset: 0))
        case .fixedLenByteArray:
            return .bytes(try decodePlainFixedLength(&input, count: count, width: column.typeLength, storage: storage, storageOffset: 0))
        default: throw DecodeFailure("physical type \(column.physicalType) is not supported")
        }
    }

    private func decodeDataPage(_ header: PageHeader, info: PageInfo, bodyOffset: Int64) throws -> DataPage {
        let slots: Int, encoding: Encoding, storage: [UInt8], levelsLength: Int
        var declaredNulls: Int?
        if header.type == .dataPageV2 {
            guard let v2 = header.dataPageV2 else { throw DecodeFailure("DATA_PAGE_V2 without its header") }
            guard v2.valueCount >= 0, v2.nullCount >= 0, v2.definitionLevelsByteLength >= 0, v2.repetitionLevelsByteLength >= 0 else {
                throw DecodeFailure("DATA_PAGE_V2 header has negative counts")
            }
            guard v2.repetitionLevelsByteLength == 0 || column.maxRepetitionLevel > 0 else {
                throw DecodeFailure("repetition levels in a column that cannot repeat")
            }
            slots = Int(v2.valueCount)
            encoding = v2.encoding
            levelsLength = Int(v2.repetitionLevelsByteLength) + Int(v2.definitionLevelsByteLength)
            declaredNulls = Int(v2.nullCount)
            storage = try body(at: bodyOffset, compressedSize: Int(header.compressedSize), uncompressedSize: Int(header.uncompressedSize),
                               levelsLength: levelsLength, compressed: v2.isCompressed)
        } else {
            guard let v1 = header.dataPage else { throw DecodeFailure("DATA_PAGE without its header") }
            guard v1.valueCount >= 0 else { throw DecodeFailure("DATA_PAGE header has a negative value count") }
            slots = Int(v1.valueCount)
            encoding = v1.encoding
            levelsLength = 0
            storage = try body(at: bodyOffset, compressedSize: Int(header.compressedSize), uncompressedSize: Int(header.uncompressedSize),
                               levelsLength: 0, compressed: true)
        }
        // Bound the slot count before allocating per slot: no writer puts more values in a page than this.
        guard slots <= max(64 * storage.count, 1 << 20), slots <= 1 << 28 else {
            throw DecodeFailure("the page claims \(slots) values in \(storage.count) bytes")
        }
        var pageInfo = info
        pageInfo.encoding = encoding
        pageInfo.valueCount = slots
        guard column.maxRepetitionLevel == 0 else { throw DecodeFailure("nested (repeated) columns are not supported") }

        return try storage.withUnsafeBytes { raw in
            var input = PageBytes(raw)
            var levels: [UInt8]?
            var present = slots
            if column.maxDefinitionLevel > 0 {
                let decoded: [UInt8]
                if header.type == .dataPageV2 {
                    let slice = try input.take(levelsLength, "definition levels")
                    decoded = try decodeLevelsV2(slice, maxLevel: column.maxDefinitionLevel, count: slots)
                } else {
                    decoded = try decodeLevelsV1(&input, encoding: header.dataPage!.definitionLevelEncoding,
                                                 maxLevel: column.maxDefinitionLevel, count: slots)
                }
                let maxLevel = UInt8(column.maxDefinitionLevel)
                present = decoded.reduce(0) { $0 + ($1 == maxLevel ? 1 : 0) }
                if present < slots { levels = decoded }
            } else {
                input.position = levelsLength
            }
            if let declaredNulls, declaredNulls != slots - present {
                throw DecodeFailure("the page header says \(declaredNulls) nulls, its definition levels \(slots - present)")
            }
            let values = try decodeValues(&input, encoding: encoding, count: present, storage: storage)
            if let levels, column.maxDefinitionLevel > 1 {
                // Flat columns have at most level 1; normalise anyway.
                return DataPage(slotCount: slots, definitionLevels: levels.map { $0 == UInt8(column.maxDefinitionLevel) ? 1 : 0 }, values: values, info: pageInfo)
            }
            return DataPage(slotCount: slots, definitionLevels: levels, values: values, info: pageInfo)
        }
    }

    private func decodeValues(_ input: inout PageBytes, encoding: Encoding, count: Int, storage: [UInt8]) throws -> ColumnValues {
        let type = column.physicalType
        switch encoding {
        case .plain:
            return try decodePlain(&input, count: count, storage: storage)
        case .plainDictionary, .rleDictionary:
            guard let dictionary else { throw DecodeFailure("a dictionary-encoded page, but the chunk has no dictionary page") }
            let indices = try decodeDictionaryIndices(&input, count: count, dictionarySize: dictionary.count)
            return gather(dictionary, indices)
        case .rle where type == .boolean:
            return .boolean(try decodeRLEBooleans(&input, count: count))
        case .deltaBinaryPacked where type == .int32:
            return .int32(try decodeDeltaBinaryPacked(&input, count: count).map { Int32(truncatingIfNeeded: $0) })
        case .deltaBinaryPacked where type == .int64:
            return .int64(try decodeDeltaBinaryPacked(&input, count: count))
        case .deltaLengthByteArray where type == .byteArray:
            return .bytes(try decodeDeltaLengthByteArrays(&input, count: count, storage: storage, storageOffset: 0))
        case .deltaByteArray where type == .byteArray:
            return .bytes(try decodeDeltaByteArrays(&input, count: count))
        case .deltaByteArray where type == .fixedLenByteArray:
            return .bytes(try decodeDeltaByteArrays(&input, count: count, fixedWidth: column.typeLength))
        case .byteStreamSplit where [.float, .double, .int32, .int64, .fixedLenByteArray].contains(type):
            let width = type == .fixedLenByteArray ? column.typeLength : (type == .float || type == .int32 ? 4 : 8)
            let bytes = try decodeByteStreamSplit(&input, count: count, width: width)
            return try bytes.withUnsafeBytes { raw in
                var plain = PageBytes(raw)
                return try decodePlain(&plain, count: count, storage: bytes)
            }
        default:
            throw DecodeFailure("encoding \(encoding) is not supported for \(type) values")
        }
    }

    /// Walks the chunk's page headers without decoding bodies: a census of page types, encodings and sizes.
    public func pageCensus() throws -> [PageInfo] {
        var pages: [PageInfo] = []
        position = chunkStart
        pageIndex = 0
        windowCount = 0
        while position < chunkEnd {
            let headerOffset = position
            let (header, headerLength) = try readHeader()
            let bodyOffset = headerOffset + Int64(headerLength)
            guard Int64(header.compressedSize) <= chunkEnd - bodyOffset else {
                throw ParquetError(.corruptPage, location(page: pageIndex, offset: headerOffset),
                                   "the page claims \(header.compressedSize) bytes, the column chunk has \(chunkEnd - bodyOffset) left")
            }
            let encoding = header.dataPage?.encoding ?? header.dataPageV2?.encoding ?? header.dictionaryPage?.encoding ?? .plain
            let values = header.dataPage?.valueCount ?? header.dataPageV2?.valueCount ?? header.dictionaryPage?.valueCount ?? 0
            pages.append(PageInfo(index: pageIndex, type: header.type, encoding: encoding, compressedSize: Int(header.compressedSize),
                                  uncompressedSize: Int(header.uncompressedSize), valueCount: Int(values), offset: headerOffset,
                                  headerSize: headerLength))
            position = bodyOffset + Int64(header.compressedSize)
            pageIndex += 1
        }
        position = chunkStart
        pageIndex = 0
        windowCount = 0
        return pages
    }
}

/// Values picked from a dictionary by index (indices are already checked against its size).
func gather(_ dictionary: ColumnValues, _ indices: [UInt32]) -> ColumnValues {
    switch dictionary {
    case .boolean(let v): .boolean(indices.map { v[Int($0)] })
    case .int32(let v): .int32(indices.map { v[Int($0)] })
    case .int64(let v): .int64(indices.map { v[Int($0)] })
    case .int96(let v): .int96(indices.map { v[Int($0)] })
    case .float(let v): .float(indices.map { v[Int($0)] })
    case .double(let v): .double(indices.map { v[Int($0)] })
    case .bytes(let v):
        .bytes(ByteArrayValues(storage: v.storage, starts: indices.map { v.starts[Int($0)] }, lengths: indices.map { v.lengths[Int($0)] }))
    }
}
