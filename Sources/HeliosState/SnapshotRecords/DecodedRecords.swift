import HeliosProto

/// One batch of snapshot records, decoded, split by kind, in their order: the reader adds them to
/// the state from typed arrays instead of switching over (and copying out of) a oneof per record.
package struct DecodedRecords: Equatable {
    package enum Kind: UInt8 {
        case header, member, job, node, evaluation, allocation, trailer
        /// A record with no known kind (written by a newer Helios?).
        case unknown
    }

    /// The kind of each record, in order; the n-th record of a kind is the n-th element of its array.
    package var kinds: [Kind] = []
    package var headers: [Helios_V1_SnapshotHeader] = []
    var members: [ClusterMember] = []
    /// Decoded, or still encoded (see ``RecordTable``).
    var jobs: [StoredJob] = []
    var nodes: [NodeInfo] = []
    /// Decoded, or still encoded (see ``RecordTable``).
    var evaluations: [StoredEvaluation] = []
    /// Decoded, or still encoded (see ``RecordTable``).
    var allocations: [StoredAllocation] = []
    var trailers: [Helios_V1_SnapshotTrailer] = []
    /// The buffer the records being decoded lie in, and its address (set while a batch decodes): kept
    /// records point into it instead of copying their bytes.
    package var source: (buffer: [UInt8], base: UInt)?

    /// Equal records (``source`` is where they came from, not what they are).
    package init() {}

    package static func == (lhs: DecodedRecords, rhs: DecodedRecords) -> Bool {
        lhs.kinds == rhs.kinds && lhs.headers == rhs.headers && lhs.members == rhs.members && lhs.jobs == rhs.jobs
            && lhs.nodes == rhs.nodes && lhs.evaluations == rhs.evaluations && lhs.allocations == rhs.allocations
            && lhs.trailers == rhs.trailers
    }

    /// Appends a record decoded as a whole (by SwiftProtobuf, when the fast path declined).
    mutating func append(_ record: Helios_V1_SnapshotRecord) {
        switch record.record {
        case .header(let header): append(header)
        case .member(let member): append(member)
        case .job(let job): append(job)
        case .node(let node): append(node)
        case .evaluation(let evaluation): append(evaluation)
        case .allocation(let allocation): append(allocation)
        case .trailer(let trailer): append(trailer)
        case nil: kinds.append(.unknown)
        }
    }

    mutating func append(_ header: Helios_V1_SnapshotHeader) {
        kinds.append(.header)
        headers.append(header)
    }

    mutating func append(_ member: ClusterMember) {
        kinds.append(.member)
        members.append(member)
    }

    mutating func append(_ job: JobRecord) {
        kinds.append(.job)
        jobs.append(StoredJob(job))
    }

    /// Appends a job record kept in its encoding, which `SnapshotRecordDecoder.validateJobRecord`
    /// accepted (as a range of ``source`` when they lie in it, else a copy).
    mutating func append(encodedJobRecord bytes: UnsafeRawBufferPointer) {
        kinds.append(.job)
        jobs.append(StoredJob(validated: bytes, kept: kept(bytes)))
    }

    mutating func append(_ node: NodeInfo) {
        kinds.append(.node)
        nodes.append(node)
    }

    mutating func append(_ evaluation: Evaluation) {
        kinds.append(.evaluation)
        evaluations.append(StoredEvaluation(evaluation))
    }

    /// Appends an evaluation kept in its encoding, which `SnapshotRecordDecoder.validateEvaluation`
    /// accepted (as a range of ``source`` when they lie in it, else a copy).
    mutating func append(encodedEvaluation bytes: UnsafeRawBufferPointer) {
        kinds.append(.evaluation)
        evaluations.append(StoredEvaluation(validated: bytes, kept: kept(bytes)))
    }

    mutating func append(_ allocation: Allocation) {
        kinds.append(.allocation)
        allocations.append(StoredAllocation(allocation))
    }

    /// Appends an allocation kept in its encoding, which `SnapshotRecordDecoder.validateAllocation`
    /// accepted (as a range of ``source`` when they lie in it, else a copy).
    mutating func append(encodedAllocation bytes: UnsafeRawBufferPointer) {
        kinds.append(.allocation)
        allocations.append(StoredAllocation(validated: bytes, kept: kept(bytes)))
    }

    /// `bytes` as a range of ``source`` when they lie in it (nil: the caller copies them).
    private func kept(_ bytes: UnsafeRawBufferPointer) -> KeptBytes? {
        guard let source, let base = bytes.baseAddress else { return nil }
        let address = UInt(bitPattern: base)
        guard address >= source.base, address - source.base + UInt(bytes.count) <= UInt(source.buffer.count) else { return nil }
        return KeptBytes(in: source.buffer, offset: Int(address - source.base), count: bytes.count)
    }

    mutating func append(_ trailer: Helios_V1_SnapshotTrailer) {
        kinds.append(.trailer)
        trailers.append(trailer)
    }
}
