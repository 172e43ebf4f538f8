import ArgumentParser
import Foundation
import HeliosClient
import HeliosJobFile
import HeliosProto

/// `helios node ...`: the worker nodes (agents).
struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node", abstract: "Inspect nodes, drain them and mark them (in)eligible.",
        subcommands: [NodeStatusCommand.self, NodeListCommand.self, NodeDrainCommand.self, NodeEligibilityCommand.self])
}

/// `helios node status [node]`.
struct NodeStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show a node (every node when none is given).")

    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions

    @Argument(help: "The node id or a unique prefix.")
    var node: String?

    func run() async throws {
        try await client.withClient { client in
            guard let node else {
                try await NodeListCommand.list(client, json: output.json)
                return
            }
            let response = try await client.node(node)
            if output.json {
                print(try Format.json(response))
                return
            }
            let info = response.node
            var lines = [Format.fields([
                ("ID", info.id), ("Name", info.name), ("Datacenter", info.datacenter), ("Address", info.address),
                ("Status", Format.colored(Format.nodeStatus(info.status)) + (info.statusDescription.isEmpty ? "" : " (\(info.statusDescription))")),
                ("Eligibility", Format.colored(info.eligible ? "eligible" : "ineligible")), ("Draining", info.draining ? "true" : "false"),
                ("Resources", "\(info.resources.cpuMhz) MHz, \(info.resources.memoryMb) MB"),
                ("Registered", Format.ago(ms: info.registeredAtMs)), ("Status updated", Format.ago(ms: info.statusUpdatedAtMs)),
            ])]
            lines.append("\nAttributes")
            lines.append(Format.fields(info.attributes.map { ($0.key, $0.value) }))
            if !info.meta.isEmpty {
                lines.append("\nMeta")
                lines.append(Format.fields(info.meta.map { ($0.key, $0.value) }))
            }
            lines.append("\nAllocations")
            lines.append(response.allocations.isEmpty ? "No allocations" : AllocationTable.render(response.allocations))
            print(lines.joined(separator: "\n"))
        }
    }
}

/// `helios node list`.
struct NodeListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List nodes.")

    @OptionGroup var client: ClientOptions
    @OptionGroup var output: OutputOptions

    func run() async throws {
        try await client.withClient { try await Self.list($0, json: output.json) }
    }

    static func list(_ client: HeliosClient, json: Bool) async throws {
        let nodes = try await client.nodes()
        if json {
            print(try Format.json(nodes))
            return
        }
        guard !nodes.isEmpty else {
            print("No nodes; start an agent with 'helios agent --server-addr ...' (or 'helios dev')")
            return
        }
        var table = TextTable("ID", "Name", "DC", "Address", "Eligibility", "Drain", "Status", "CPU", "Memory")
        for node in nodes.sorted(by: { $0.id < $1.id }) {
            table.append([Format.short(node.id), node.name, node.datacenter, node.address, Format.colored(node.eligible ? "eligible" : "ineligible"),
                          node.draining ? "true" : "false", Format.colored(Format.nodeStatus(node.status)),
                          "\(node.resources.cpuMhz) MHz", "\(node.resources.memoryMb) MB"])
        }
        print(table.render())
    }
}

/// `helios node drain <node> [-enable|-disable] [-deadline]`.
struct NodeDrainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain", abstract: "Drain a node: migrate its allocations elsewhere and take no new ones (or end a drain).")

    @OptionGroup var client: ClientOptions

    @Flag(name: [.customLong("enable"), .customLong("enable", withSingleDash: true)], help: "Start draining.")
    var enable = false

    @Flag(name: [.customLong("disable"), .customLong("disable", withSingleDash: true)], help: "End the drain (the node becomes eligible again).")
    var disable = false

    @Option(name: [.customLong("deadline"), .customLong("deadline", withSingleDash: true)], help: "How long allocations may keep running, e.g. 1h, 30m (default 1h).")
    var deadline: String = "1h"

    @Argument(help: "The node id or a unique prefix.")
    var node: String

    func validate() throws {
        guard enable != disable else { throw ValidationError("give exactly one of -enable or -disable") }
        guard parseDurationMS(deadline) != nil else { throw ValidationError("-deadline '\(deadline)' is not a duration such as 30m or 1h") }
    }

    func run() async throws {
        try await client.withClient { client in
            let id = try await client.node(node).node.id
            let ms = parseDurationMS(deadline) ?? 3_600_000
            try await client.drainNode(id, enable: enable, deadline: .milliseconds(Int64(ms)))
            print(enable ? "Node \"\(Format.short(id))\" draining (deadline \(deadline))" : "Node \"\(Format.short(id))\" drain ended")
        }
    }
}

/// `helios node eligibility <node> -enable|-disable`.
struct NodeEligibilityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eligibility", abstract: "Mark a node eligible or ineligible for new placements (running allocations stay).")

    @OptionGroup var client: ClientOptions

    @Flag(name: [.customLong("enable"), .customLong("enable", withSingleDash: true)], help: "Eligible for placements.")
    var enable = false

    @Flag(name: [.customLong("disable"), .customLong("disable", withSingleDash: true)], help: "Ineligible for placements.")
    var disable = false

    @Argument(help: "The node id or a unique prefix.")
    var node: String

    func validate() throws {
        guard enable != disable else { throw ValidationError("give exactly one of -enable or -disable") }
    }

    func run() async throws {
        try await client.withClient { client in
            let id = try await client.node(node).node.id
            try await client.setNodeEligibility(id, eligible: enable)
            print("Node \"\(Format.short(id))\" is now \(enable ? "eligible" : "ineligible")")
        }
    }
}
