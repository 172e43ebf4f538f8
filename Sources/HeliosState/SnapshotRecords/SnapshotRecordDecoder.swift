import HeliosProto
import SwiftProtobuf

/// Decodes snapshot records without SwiftProtobuf's generic machinery: a start-up spends most of its
/// time decoding records, and the specialised decoders (generated from the `.proto` files by
/// `tools/generate-snapshot-decoder`) do it several times faster.
///
/// They accept only the canonical encoding a ``SnapshotWriter`` produces: known fields with their
/// expected wire types, singular messages and the oneof at most once, valid UTF-8. Anything else
/// (unknown fields from a newer Helios, a damaged record) is decoded by SwiftProtobuf, which stays the
/// reference: ``decode(_:)`` returns what `Helios_V1_SnapshotRecord(serializedBytes:)` returns, or
/// throws what it throws.
package enum SnapshotRecordDecoder {
    /// Decodes one record (its bytes without the length prefix).
    package static func decode(_ bytes: UnsafeRawBufferPointer) throws -> Helios_V1_SnapshotRecord {
        if let base = bytes.baseAddress {
            var reader = WireReader(base: base)
            if let record = decodeSnapshotRecord(&reader, end: bytes.count) { return record }
        } else if bytes.isEmpty {
            return Helios_V1_SnapshotRecord()
        }
        return try Helios_V1_SnapshotRecord(serializedBytes: Array(bytes))
    }

    /// Decodes one record (its bytes without the length prefix) into `records`: a canonical record's
    /// message goes straight into the array of its kind; anything else goes through ``decode(_:)``.
    package static func decode(_ bytes: UnsafeRawBufferPointer, into records: inout DecodedRecords) throws {
        if let base = bytes.baseAddress {
            var reader = WireReader(base: base)
            if decodeSnapshotRecord(&reader, end: bytes.count, into: &records) { return }
        }
        records.append(try decode(bytes))
    }

    /// `bytes` as a string, nil if they are not valid UTF-8. Ids, names and commands are ASCII:
    /// checking that is cheaper than general validation (which also looks up generic metadata per call).
    @inline(__always)
    static func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        for byte in bytes where byte >= 0x80 {
            return String(validating: bytes, as: UTF8.self)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A cursor over protobuf wire data. Every read is bounded by an `end` offset and returns nil
    /// (never traps) when the data is malformed or ends early.
    struct WireReader {
        let base: UnsafeRawPointer
        var offset = 0

        /// A base-128 varint of at most 10 bytes.
        @inline(__always)
        mutating func varint(_ end: Int) -> UInt64? {
            guard offset < end else { return nil }
            let first = base.load(fromByteOffset: offset, as: UInt8.self)
            offset += 1
            if first < 0x80 { return UInt64(first) }
            var value = UInt64(first & 0x7F)
            var shift: UInt64 = 7
            while offset < end {
                let byte = base.load(fromByteOffset: offset, as: UInt8.self)
                offset += 1
                if shift == 63 && byte > 1 { return nil }  // more than 64 bits
                value |= UInt64(byte & 0x7F) << shift
                if byte < 0x80 { return value }
                shift += 7
                if shift > 63 { return nil }
            }
            return nil
        }

        /// Reads a length prefix and returns where the delimited field ends (nil if past `end`).
        @inline(__always)
        mutating func delimited(_ end: Int) -> Int? {
            guard let length = varint(end), length <= UInt64(end - offset) else { return nil }
            return offset + Int(length)
        }

        /// A length-delimited UTF-8 string (nil if it is not valid UTF-8).
        @inline(__always)
        mutating func string(_ end: Int) -> String? {
            guard let stop = delimited(end) else { return nil }
            let bytes = UnsafeBufferPointer(start: (base + offset).assumingMemoryBound(to: UInt8.self), count: stop - offset)
            offset = stop
            return SnapshotRecordDecoder.string(bytes)
        }

        /// Skips a length-delimited UTF-8 string; false where ``string(_:)`` returns nil.
        @inline(__always)
        mutating func skipString(_ end: Int) -> Bool {
            guard let stop = delimited(end) else { return false }
            let bytes = UnsafeBufferPointer(start: (base + offset).assumingMemoryBound(to: UInt8.self), count: stop - offset)
            offset = stop
            for byte in bytes where byte >= 0x80 {
                // Rare (ids, names and commands are ASCII): validate the general way.
                return String(validating: bytes, as: UTF8.self) != nil
            }
            return true
        }
    }
}
