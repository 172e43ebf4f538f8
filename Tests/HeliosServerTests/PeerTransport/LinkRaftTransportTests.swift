import HeliosEdge
import HeliosProto
import HeliosRaft
import NIOCore
import SwiftProtobuf
import Testing

@testable import HeliosServer

@Suite("LinkRaftTransport")
struct LinkRaftTransportTests {
    static func append(_ index: UInt64, bytes: Int) -> HeliosRaft.Message {
        var message = HeliosRaft.Message(type: .appendEntries, from: 1, to: 2, term: 3)
        message.index = index
        message.entries = [Entry(index: index + 1, term: 3, data: [UInt8](repeating: UInt8(index % 251), count: bytes))]
        return message
    }

    static func decoded(_ frames: [PeerLinkFrame]) throws -> [HeliosRaft.Message] {
        try frames.flatMap { frame in
            #expect(frame.kind == .raft)
            return try Helios_V1_RaftBatch(serializedBytes: Array(buffer: frame.payload)).messages.map { try #require(RaftMessageCoding.decode($0)) }
        }
    }

    @Test("one send's messages go out as one frame, or as frames of at most 4 MiB of messages, in order, each a RaftBatch")
    func frames() throws {
        let small = (0..<50).map { Self.append(UInt64($0), bytes: 100) }
        let one = LinkRaftTransport.frames(small)
        #expect(one.count == 1)
        #expect(try Self.decoded(one) == small)

        // 300 appends of 1 MiB (a leader answering a backlog of heartbeat responses): ~75 frames.
        let large = (0..<300).map { Self.append(UInt64($0), bytes: 1 << 20) }
        let split = LinkRaftTransport.frames(large)
        #expect(split.count >= 75 && split.count <= 100, "\(split.count) frames")
        #expect(split.allSatisfy { $0.payload.readableBytes <= LinkRaftTransport.frameBytes })
        #expect(try Self.decoded(split) == large)

        // A message larger than a frame's share goes alone, whole.
        let huge = [Self.append(1, bytes: 10), Self.append(2, bytes: 6 << 20), Self.append(3, bytes: 10)]
        let alone = LinkRaftTransport.frames(huge)
        #expect(alone.count == 3)
        #expect(try Self.decoded(alone) == huge)
    }
}
