import HeliosProto
import SwiftProtobuf
@testable import HeliosState
import Testing

@Suite("Snapshot record order")
struct ClusterStateBuilderTests {
    static let header = Helios_V1_SnapshotHeader.with {
        $0.index = 7
        $0.term = 2
        $0.jobCount = 1
        $0.evaluationCount = 1
    }
    static let job = JobRecord.with { $0.id = "web" }
    static let evaluation = Evaluation.with {
        $0.id = "e1"
        $0.jobID = "web"
        $0.status = .pending
    }
    static let trailer = Helios_V1_SnapshotTrailer.with {
        $0.recordCount = 2
        $0.jobCount = 1
        $0.evaluationCount = 1
    }

    /// Adds each batch in turn; returns the first error's message, nil if every batch was taken.
    static func firstError(_ batches: [DecodedRecords]) -> String? {
        var builder = ClusterStateBuilder()
        do {
            for batch in batches { try builder.add(batch) }
            return nil
        } catch {
            return error.message
        }
    }

    @Test("records in order, across batches, rebuild the tables and indexes")
    func inOrder() throws {
        var first = DecodedRecords()
        first.append(Self.header)
        first.append(Self.job)
        var second = DecodedRecords()
        second.append(Self.evaluation)
        second.append(Self.trailer)
        var builder = ClusterStateBuilder()
        for batch in [first, second] {
            // As the reader does: the tables here, the indexes on their own threads.
            builder.indexes.add(batch)
            try builder.add(batch)
        }
        let (position, state) = try builder.finish()
        #expect(position.index == 7 && position.term == 2)
        #expect(state.job("web") != nil)
        #expect(state.evaluations(ofJob: "web").map(\.id) == ["e1"])
        #expect(state.evaluations(withStatus: .pending).map(\.id) == ["e1"])
    }

    @Test("a record before the header, a second header, a record after the trailer and an unknown kind are refused")
    func outOfOrder() {
        var beforeHeader = DecodedRecords()
        beforeHeader.append(Self.job)
        beforeHeader.append(Self.header)
        #expect(Self.firstError([beforeHeader]) == "record before the header")

        var twoHeaders = DecodedRecords()
        twoHeaders.append(Self.header)
        twoHeaders.append(Self.header)
        #expect(Self.firstError([twoHeaders]) == "second header record")
        var oneHeader = DecodedRecords()
        oneHeader.append(Self.header)
        #expect(Self.firstError([oneHeader, oneHeader]) == "second header record")

        var afterTrailer = DecodedRecords()
        afterTrailer.append(Self.header)
        afterTrailer.append(Self.trailer)
        afterTrailer.append(Self.job)
        #expect(Self.firstError([afterTrailer]) == "record after the trailer")
        var trailerOnly = DecodedRecords()
        trailerOnly.append(Self.trailer)
        var jobOnly = DecodedRecords()
        jobOnly.append(Self.job)
        #expect(Self.firstError([oneHeader, trailerOnly, jobOnly]) == "record after the trailer")

        var unknown = DecodedRecords()
        unknown.append(Self.header)
        unknown.append(Helios_V1_SnapshotRecord())
        #expect(Self.firstError([unknown]) == "record of an unknown kind (written by a newer Helios?)")
    }
}
