import Foundation
import GRPCCore
import HeliosProto
import HeliosRaft
import HeliosReplication
import HeliosState
import Logging
import SwiftProtobuf
import Synchronization

/// Conversions between the Raft core's messages and their wire form (`raft.proto`).
enum RaftMessageCoding {
    static func encode(_ message: HeliosRaft.Message) -> Helios_V1_RaftMessage {
        .with {
            $0.type = UInt32(message.type.rawValue)
            $0.from = message.from
            $0.to = message.to
            $0.term = message.term
            $0.logTerm = message.logTerm
            $0.index = message.index
            $0.entries = message.entries.map { entry in
                .with {
                    $0.index = entry.index
                    $0.term = entry.term
                    $0.kind = UInt32(entry.kind.rawValue)
                    $0.data = Data(entry.data)
                }
            }
            $0.commit = message.commit
            $0.reject = message.reject
            $0.rejectHint = message.rejectHint
            if let snapshot = message.snapshot {
                $0.hasSnapshot_p = true
                $0.snapshot = .with {
                    $0.index = snapshot.index
                    $0.term = snapshot.term
                    $0.voters = snapshot.configuration.voters.sorted()
                    $0.learners = snapshot.configuration.learners.sorted()
                }
            }
            $0.data = Data(message.data)
            $0.flag = message.flag
            $0.context = Data(message.context)
        }
    }

    /// Decodes a wire message; nil if its type is unknown (a newer peer): such messages are dropped.
    static func decode(_ wire: Helios_V1_RaftMessage) -> HeliosRaft.Message? {
        guard let type = MessageType(rawValue: UInt8(truncatingIfNeeded: wire.type)), wire.type <= 255 else { return nil }
        var message = HeliosRaft.Message(type: type, from: wire.from, to: wire.to, term: wire.term)
        message.logTerm = wire.logTerm
        message.index = wire.index
        message.entries = wire.entries.map {
            Entry(index: $0.index, term: $0.term, kind: EntryKind(rawValue: UInt8(truncatingIfNeeded: $0.kind)) ?? .normal, data: [UInt8]($0.data))
        }
        message.commit = wire.commit
        message.reject = wire.reject
        message.rejectHint = wire.rejectHint
        if wire.hasSnapshot_p {
            message.snapshot = SnapshotMetadata(
                index: wire.snapshot.index, term: wire.snapshot.term,
                configuration: ConfigurationState(voters: Set(wire.snapshot.voters), learners: Set(wire.snapshot.learners)))
        }
        message.data = [UInt8](wire.data)
        message.flag = wire.flag
        message.context = [UInt8](wire.context)
        return message
    }
}
