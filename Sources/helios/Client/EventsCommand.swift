import ArgumentParser
import Foundation
import HeliosClient
import HeliosProto

/// `helios events`: the committed event stream.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Print the cluster's committed events (job, node, evaluation, allocation, cluster), optionally following new ones.")

    @OptionGroup var client: ClientOptions

    @Option(name: [.customLong("topic"), .customLong("topic", withSingleDash: true)], help: "Only this topic: job, node, evaluation, allocation, cluster (repeatable).")
    var topic: [String] = []

    @Option(name: [.customLong("index"), .customLong("index", withSingleDash: true)], help: "Start after this log index (0: the oldest retained).")
    var index: UInt64 = 0

    @Option(help: "Only events about this job, node, evaluation or allocation id.")
    var key: String = ""

    @Flag(name: [.customLong("follow"), .customShort("f"), .customLong("follow", withSingleDash: true)], help: "Keep streaming new events until interrupted (reconnecting without gaps).")
    var follow = false

    @Flag(help: "One JSON object per line (protobuf JSON mapping).")
    var json = false

    func run() async throws {
        let json = json
        try await client.withClient { client in
            try await client.events(afterIndex: index, topics: topic, key: key, follow: follow) { event in
                if json {
                    print(try Format.json(event).replacingOccurrences(of: "\n", with: "").replacingOccurrences(of: "  ", with: ""))
                } else {
                    let kind = event.event.kind.map { "\($0)".split(separator: "(").first.map(String.init) ?? "event" } ?? "event"
                    print("\(event.index)  \(event.topic.padding(toLength: 10, withPad: " ", startingAt: 0))  \(kind)  \(event.keys.joined(separator: ","))")
                }
                fflush(nil)
            }
        }
    }
}
