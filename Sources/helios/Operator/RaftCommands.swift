import ArgumentParser
import Foundation
import HeliosClient
import HeliosProto

/// `helios operator raft ...`: the server cluster's membership and leadership (online).
struct RaftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "raft", abstract: "List the Raft peers, transfer leadership, remove a peer (online, through the API).",
        subcommands: [RaftListPeersCommand.self, RaftTransferLeadershipCommand.self, RaftRemovePeerCommand.self])
}

/// `helios operator raft list-peers`.
struct RaftListPeersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list-peers", abstract: "List the servers, their roles and replication progress.")

    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await client.withClient { client in
            let peers = try await client.raftPeers()
            if output.json {
                print(try Format.json(peers))
                return
            }
            var table = TextTable("ID", "Address", "State", "Voter", "Match index")
            for peer in peers.peers.sorted(by: { $0.id < $1.id }) {
                table.append(["\(peer.id)", peer.address, Format.colored(peer.leader ? "leader" : "follower"), peer.voter ? "true" : "false", "\(peer.matchIndex)"])
            }
            print(table.render())
            print("\nTerm \(peers.term), commit index \(peers.commitIndex)")
        }
    }
}

/// `helios operator raft transfer-leadership [--to ID]`.
struct RaftTransferLeadershipCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "transfer-leadership", abstract: "Hand leadership to another server.")

    @OptionGroup var client: ClientOptions

    @Option(help: "The server to lead next (default: any up-to-date voter).")
    var to: UInt64 = 0

    func run() async throws {
        try await client.withClient { client in
            try await client.transferLeadership(to: to)
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                let info = try await client.clusterInfo()
                if info.leaderID != 0 && (to == 0 || info.leaderID == to) {
                    print("Leader is now server \(info.leaderID) (term \(info.term))")
                    return
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw CLIError("leadership did not move to \(to == 0 ? "another server" : "server \(to)") within 10 s; check 'helios operator raft list-peers'")
        }
    }
}

/// `helios operator raft remove-peer --id ID`.
struct RaftRemovePeerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove-peer", abstract: "Remove a server from the Raft configuration.")

    @OptionGroup var client: ClientOptions

    @Option(help: "The id of the server to remove.")
    var id: UInt64

    func run() async throws {
        try await client.withClient { client in
            let index = try await client.removePeer(id: id)
            print("Server \(id) removed from the configuration (index \(index))")
        }
    }
}
