import Foundation
import HeliosEdge
import HeliosProto
import NIOCore
import NIOEmbedded
import SwiftProtobuf
import Testing

@Suite("PeerLinkFrame and its decoder")
struct PeerLinkFrameTests {
    /// `Formats/vectors/peer-link/v1/frames.txt`: name -> bytes.
    static func vectors() throws -> [String: [UInt8]] {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Formats/vectors/peer-link/v1/frames.txt").path
        var vectors: [String: [UInt8]] = [:]
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") where !line.hasPrefix("#") {
            guard let colon = line.lastIndex(of: ":") else { continue }
            let hex = line[line.index(after: colon)...].filter { !$0.isWhitespace }
            var bytes: [UInt8] = []
            var index = hex.startIndex
            while index < hex.endIndex {
                let next = hex.index(index, offsetBy: 2)
                bytes.append(try #require(UInt8(hex[index..<next], radix: 16), "bad hex in \(line)"))
                index = next
            }
            vectors[String(line[..<colon])] = bytes
        }
        return vectors
    }

    static func decode(_ bytes: [UInt8], maximum: Int = 1 << 20) throws -> [PeerLinkFrame] {
        var decoder = PeerLinkFrameDecoder(maximumFrameBytes: maximum)
        var buffer = ByteBuffer(bytes: bytes)
        var frames: [PeerLinkFrame] = []
        while let frame = try decoder.decode(buffer: &buffer) { frames.append(frame) }
        #expect(buffer.readableBytes == 0, "bytes left over")
        return frames
    }

    @Test("the golden vectors: each frame built from its fields encodes to its bytes, and decodes back")
    func goldenVectors() throws {
        let vectors = try Self.vectors()
        #expect(vectors["preface"] == PeerLinkFrame.preface)
        let heartbeat = Helios_V1_RaftBatch.with {
            $0.messages = [.with { $0.type = 7; $0.from = 1; $0.to = 2; $0.term = 3; $0.commit = 9 }]
        }
        let built: [String: PeerLinkFrame] = [
            "hello sender=2 receiver=1": PeerLinkHello(sender: 2, receiver: 1).frame,
            "raft empty-batch": PeerLinkFrame(kind: .raft, payload: ByteBuffer()),
            "raft one-heartbeat type=7 from=1 to=2 term=3 commit=9": PeerLinkFrame(kind: .raft, payload: ByteBuffer(bytes: try heartbeat.serializedBytes() as [UInt8])),
            "request id=7 propose event=01": .request(.request, id: 7, try Helios_V1_ProposeRequest.with { $0.event = Data([1]) }.serializedBytes()),
            "response id=7 index=5": .request(.response, id: 7, try Helios_V1_ProposeResponse.with { $0.index = 5 }.serializedBytes()),
            "error id=0 code=9 message=no": .error(id: 0, code: 9, "no"),
        ]
        #expect(Set(built.keys).union(["preface"]) == Set(vectors.keys))
        for (name, frame) in built {
            let bytes = try #require(vectors[name])
            #expect(Array(buffer: frame.encoded()) == bytes, "\(name)")
            #expect(try Self.decode(bytes) == [frame], "\(name)")
        }
        let hello = try PeerLinkHello(try Self.decode(vectors["hello sender=2 receiver=1"]!)[0])
        #expect(hello == PeerLinkHello(sender: 2, receiver: 1))
        let error = try Self.decode(vectors["error id=0 code=9 message=no"]!)[0].errorFields()
        #expect(error.id == 0 && error.code == 9 && error.message == "no")
    }

    @Test("frames split anywhere and run together decode the same; a partial frame waits")
    func splitting() throws {
        let frames = [PeerLinkHello(sender: 3, receiver: 1).frame, .request(.request, id: 1, [1, 2, 3]), PeerLinkFrame(kind: .raft, payload: ByteBuffer(bytes: [9]))]
        let bytes = frames.flatMap { Array(buffer: $0.encoded()) }
        for cut in 0...bytes.count {
            var decoder = PeerLinkFrameDecoder(maximumFrameBytes: 1024)
            var buffer = ByteBuffer(bytes: bytes[..<cut])
            var decoded: [PeerLinkFrame] = []
            while let frame = try decoder.decode(buffer: &buffer) { decoded.append(frame) }
            buffer.writeBytes(bytes[cut...])
            while let frame = try decoder.decode(buffer: &buffer) { decoded.append(frame) }
            #expect(decoded == frames, "cut at \(cut)")
        }
    }

    @Test("refused as soon as the header arrives, each naming the bad value: another version, a length out of bounds, an unknown kind")
    func refusals() throws {
        func refusal(_ bytes: [UInt8], maximum: Int = 1024) -> String {
            do {
                _ = try Self.decode(bytes, maximum: maximum)
                return "decoded"
            } catch {
                return "\(error)"
            }
        }
        #expect(refusal([0, 0, 0, 2, 2, 2]).contains("version 2"))
        #expect(refusal([0, 0, 0, 1, 1, 2]).contains("frame of 1 bytes"))
        // A length far over the limit is refused before any of the frame is buffered.
        #expect(refusal([0xFF, 0xFF, 0xFF, 0xFF, 1, 2]).contains("4294967295 bytes; frames are 2 to 1024"))
        #expect(refusal([0, 0, 0, 2, 1, 77]).contains("kind 77"))
        #expect(throws: PeerLinkError.self) { try PeerLinkHello(PeerLinkFrame(kind: .raft, payload: ByteBuffer())) }
        #expect(throws: PeerLinkError.self) { try PeerLinkHello(PeerLinkFrame(kind: .hello, payload: ByteBuffer(bytes: [1, 2]))) }
        #expect(throws: PeerLinkError.self) { try PeerLinkHello(PeerLinkHello(sender: 0, receiver: 1).frame) }
        #expect(throws: PeerLinkError.self) { try PeerLinkFrame(kind: .request, payload: ByteBuffer(bytes: [1, 2, 3])).splitRequestID() }
    }
}
