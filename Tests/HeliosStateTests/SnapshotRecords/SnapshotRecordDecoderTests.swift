import HeliosProto
import HeliosTesting
import SwiftProtobuf
import Testing

@testable import HeliosState

/// The specialised snapshot record decoder against SwiftProtobuf, the reference.
@Suite("Snapshot record decoder")
struct SnapshotRecordDecoderTests {
    /// The fast path alone (nil: it declined and the caller would fall back).
    static func fast(_ bytes: [UInt8]) -> Helios_V1_SnapshotRecord? {
        bytes.withUnsafeBytes { raw -> Helios_V1_SnapshotRecord? in
            guard let base = raw.baseAddress else { return nil }
            var reader = SnapshotRecordDecoder.WireReader(base: base)
            return SnapshotRecordDecoder.decodeSnapshotRecord(&reader, end: raw.count)
        }
    }

    static func decode(_ bytes: [UInt8]) throws -> Helios_V1_SnapshotRecord {
        try bytes.withUnsafeBytes { try SnapshotRecordDecoder.decode($0) }
    }

    /// The reader's path: straight into the array of the record's kind.
    static func decodeSplit(_ bytes: [UInt8]) throws -> DecodedRecords {
        var records = DecodedRecords()
        try bytes.withUnsafeBytes { try SnapshotRecordDecoder.decode($0, into: &records) }
        return records
    }

    /// What the reader's path must give: SwiftProtobuf's record, split by kind.
    static func split(_ record: Helios_V1_SnapshotRecord) -> DecodedRecords {
        var records = DecodedRecords()
        records.append(record)
        return records
    }

    @Test("every field of every record kind decodes on the fast path, equal to SwiftProtobuf's result")
    func everyField() throws {
        for seed in 0..<210 {
            let record = SnapshotRecordSamples.sampleSnapshotRecord(seed)
            let bytes: [UInt8] = try record.serializedBytes()
            let fast = try #require(Self.fast(bytes), "seed \(seed): the fast path declined a canonical record")
            #expect(fast == record, "seed \(seed)")
            #expect(fast == (try Helios_V1_SnapshotRecord(serializedBytes: bytes)), "seed \(seed)")
            #expect(try fast.serializedBytes() == bytes, "seed \(seed)")
            let split = try Self.decodeSplit(bytes)
            #expect(split == Self.split(record), "seed \(seed)")
            #expect(split.kinds.count == 1 && split.kinds != [.unknown], "seed \(seed)")
        }
    }

    @Test("the records of a real state decode on the fast path, equal to SwiftProtobuf's result")
    func realState() throws {
        var generator = EventGenerator(seed: 11)
        var state = ClusterState()
        for index in 1...UInt64(2000) { state.apply(generator.next(), at: index) }
        var count = 0
        try state.forEachSnapshotRecord(SnapshotPosition(index: 9, term: 2, voters: [1, 2, 3]), createdAtMs: 5) { record in
            let bytes: [UInt8] = try record.serializedBytes()
            let fast = try #require(Self.fast(bytes))
            #expect(fast == record)
            count += 1
        }
        // Header, trailer and every object: all on the fast path.
        #expect(count == 2 + state.members.count + state.jobs.count + state.nodes.count + state.evaluations.count + state.allocations.count)
        #expect(state.allocations.values.contains { !$0.taskStates.isEmpty })
    }

    @Test("records it does not know field by field are SwiftProtobuf's: unknown fields are kept")
    func unknownFieldsFallBack() throws {
        var record = SnapshotRecordSamples.sampleSnapshotRecord(5)  // an allocation
        var bytes: [UInt8] = try record.serializedBytes()
        // Field 99 of the record (a length-delimited field a newer Helios might add).
        bytes += [0x9A, 0x06, 3, 0x61, 0x62, 0x63]
        #expect(Self.fast(bytes) == nil)
        let decoded = try Self.decode(bytes)
        record = try Helios_V1_SnapshotRecord(serializedBytes: bytes)
        #expect(decoded == record)
        #expect(try decoded.serializedBytes() == bytes)
    }

    @Test("valid non-canonical encodings decode as SwiftProtobuf decodes them")
    func nonCanonical() throws {
        // Unpacked repeated voters (field 3 of the header), then packed: both are valid.
        var header = Helios_V1_SnapshotHeader()
        header.index = 7
        var headerBytes: [UInt8] = try header.serializedBytes()
        headerBytes += [0x18, 1, 0x18, 2, 0x1A, 2, 3, 4]
        let unpacked: [UInt8] = [0x0A, UInt8(headerBytes.count)] + headerBytes
        let fromFast = try #require(Self.fast(unpacked))
        #expect(fromFast.header.voters == [1, 2, 3, 4])
        #expect(fromFast == (try Helios_V1_SnapshotRecord(serializedBytes: unpacked)))
        // A singular message given twice is merged by protobuf: the fast path declines, the result is the reference's.
        let twice: [UInt8] = [0x0A, 2, 0x08, 1, 0x0A, 2, 0x10, 3]
        #expect(Self.fast(twice) == nil)
        let merged = try Self.decode(twice)
        #expect(merged.header.index == 1 && merged.header.term == 3)
        #expect(merged == (try Helios_V1_SnapshotRecord(serializedBytes: twice)))
    }

    @Test("damaged records: the result (or failure) is always SwiftProtobuf's")
    func mutations() throws {
        var random = SeededRandom(seed: 42)
        var accepted = 0
        var refused = 0
        for round in 0..<3000 {
            var bytes: [UInt8] = try SnapshotRecordSamples.sampleSnapshotRecord(round).serializedBytes()
            Self.damage(&bytes, &random)
            let reference = try? Helios_V1_SnapshotRecord(serializedBytes: bytes)
            let ours = try? Self.decode(bytes)
            #expect(ours == reference, "round \(round): \(bytes)")
            #expect((try? Self.decodeSplit(bytes)) == reference.map(Self.split), "round \(round): \(bytes)")
            if let fast = Self.fast(bytes) {
                #expect(fast == reference, "round \(round): the fast path accepted what the reference decodes differently")
            }
            if reference == nil { refused += 1 } else { accepted += 1 }
        }
        // Both kinds of outcome were exercised.
        #expect(accepted > 100 && refused > 100)
    }

    /// Damages encoded bytes one of four ways (bit flips, truncation, a boundary byte, spliced bytes).
    static func damage(_ bytes: inout [UInt8], _ random: inout SeededRandom) {
        switch random.next() % 4 {
        case 0:  // flip bits
            for _ in 0...(random.next() % 3) where !bytes.isEmpty {
                bytes[Int(random.next() % UInt64(bytes.count))] ^= UInt8(1 << (random.next() % 8))
            }
        case 1:  // truncate
            bytes.removeLast(Int(random.next() % UInt64(bytes.count)))
        case 2:  // overwrite a byte with a boundary value
            if !bytes.isEmpty { bytes[Int(random.next() % UInt64(bytes.count))] = [0x00, 0x7F, 0x80, 0xFF][Int(random.next() % 4)] }
        default:  // splice in random bytes
            let at = Int(random.next() % UInt64(bytes.count + 1))
            bytes.insert(contentsOf: (0..<(1 + random.next() % 4)).map { _ in UInt8(truncatingIfNeeded: random.next()) }, at: at)
        }
    }

    /// Runs a kept kind's validator and decoder over samples, intact (every fourth) or damaged, and
    /// expects them to agree; `check` gets every record that decodes, with its bytes.
    static func expectValidatorAgrees<Record: SwiftProtobuf.Message & Equatable>(
        seed: UInt64,
        sample: (Int) -> Record,
        validate: (inout SnapshotRecordDecoder.WireReader, Int) -> Bool,
        decode: (inout SnapshotRecordDecoder.WireReader, Int) -> Record?,
        check: ([UInt8], Record) -> Void
    ) throws {
        var random = SeededRandom(seed: seed)
        var accepted = 0
        var refused = 0
        for round in 0..<4000 {
            var bytes: [UInt8] = try sample(round).serializedBytes()
            if round % 4 != 0 { Self.damage(&bytes, &random) }
            // A non-empty buffer (an empty record is valid and decodes to the empty message).
            let padded = bytes + [0]
            let (valid, decoded) = padded.withUnsafeBytes { raw -> (Bool, Record?) in
                var validator = SnapshotRecordDecoder.WireReader(base: raw.baseAddress!)
                var decoder = SnapshotRecordDecoder.WireReader(base: raw.baseAddress!)
                return (validate(&validator, bytes.count), decode(&decoder, bytes.count))
            }
            #expect(valid == (decoded != nil), "round \(round): \(bytes)")
            if let decoded {
                #expect(decoded == (try? Record(serializedBytes: bytes)), "round \(round)")
                check(bytes, decoded)
                accepted += 1
            } else {
                refused += 1
            }
        }
        #expect(accepted > 1000 && refused > 500)
    }

    @Test("the job validator accepts exactly what the job decoder decodes, intact or damaged; a kept job reads back as decoded")
    func jobValidator() throws {
        try Self.expectValidatorAgrees(
            seed: 9, sample: { SnapshotRecordSamples.sampleJobRecord($0) },
            validate: { SnapshotRecordDecoder.validateJobRecord(&$0, end: $1) },
            decode: { SnapshotRecordDecoder.decodeJobRecord(&$0, end: $1) }
        ) { bytes, decoded in
            let kept = bytes.withUnsafeBytes { StoredJob(validated: $0) }
            #expect(kept.id == decoded.id)
            #expect(kept.stored.record == decoded)
        }
    }

    @Test("the allocation validator accepts exactly what the allocation decoder decodes; a kept allocation has its index fields")
    func allocationValidator() throws {
        try Self.expectValidatorAgrees(
            seed: 10, sample: { SnapshotRecordSamples.sampleAllocation($0) },
            validate: { SnapshotRecordDecoder.validateAllocation(&$0, end: $1) },
            decode: { SnapshotRecordDecoder.decodeAllocation(&$0, end: $1) }
        ) { bytes, decoded in
            let kept = bytes.withUnsafeBytes { StoredAllocation(validated: $0) }
            #expect(kept == StoredAllocation(decoded))
            #expect(kept.id == decoded.id && kept.jobID == decoded.jobID && kept.nodeID == decoded.nodeID)
            #expect(kept.stored.record == decoded)
        }
        // Both sides of the resources rule: held only while desired to run and not terminal.
        for (desired, client, holds) in [(AllocationDesiredStatus.run, AllocationClientStatus.running, true), (.stop, .running, false), (.run, .complete, false)] {
            var allocation = SnapshotRecordSamples.sampleAllocation(3)
            allocation.desiredStatus = desired
            allocation.clientStatus = client
            let bytes: [UInt8] = try allocation.serializedBytes()
            let kept = bytes.withUnsafeBytes { StoredAllocation(validated: $0) }
            #expect(kept.held.map { [$0.cpu, $0.memory] } == (holds ? [UInt64(allocation.resources.cpuMhz), UInt64(allocation.resources.memoryMb)] : nil))
        }
    }

    @Test("the evaluation validator accepts exactly what the evaluation decoder decodes; a kept evaluation has its index fields")
    func evaluationValidator() throws {
        try Self.expectValidatorAgrees(
            seed: 11, sample: { SnapshotRecordSamples.sampleEvaluation($0) },
            validate: { SnapshotRecordDecoder.validateEvaluation(&$0, end: $1) },
            decode: { SnapshotRecordDecoder.decodeEvaluation(&$0, end: $1) }
        ) { bytes, decoded in
            let kept = bytes.withUnsafeBytes { StoredEvaluation(validated: $0) }
            #expect(kept == StoredEvaluation(decoded))
            #expect(kept.id == decoded.id && kept.jobID == decoded.jobID && kept.status == decoded.status)
        }
    }

    @Test("the public decoding of a kept kind: canonical bytes, other valid encodings and bad bytes as SwiftProtobuf answers")
    func snapshotBytesInitializer() throws {
        let job = SnapshotRecordSamples.sampleJobRecord(4)
        let canonical: [UInt8] = try job.serializedBytes()
        #expect(try canonical.withUnsafeBytes { try JobRecord(snapshotBytes: $0) } == job)
        // Unknown field 99 (a newer Helios): the specialised decoder declines, SwiftProtobuf keeps it.
        let extended = canonical + [0x9A, 0x06, 1, 0x41]
        let decoded = try extended.withUnsafeBytes { try JobRecord(snapshotBytes: $0) }
        #expect(decoded == (try JobRecord(serializedBytes: extended)))
        #expect(decoded != job)
        // Bad bytes throw (a length past the end), they do not stop the process.
        #expect(throws: (any Error).self) { try [UInt8]([0x0A, 0x7F, 0x41]).withUnsafeBytes { try Allocation(snapshotBytes: $0) } }
        #expect(throws: (any Error).self) { try [UInt8]([0x12, 0x05]).withUnsafeBytes { try Evaluation(snapshotBytes: $0) } }
    }
}
