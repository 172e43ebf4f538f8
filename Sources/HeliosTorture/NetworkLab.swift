import Foundation

/// One network namespace per server, joined by veth pairs to a bridge in the caller's namespace, so
/// a partition is a real cut link (`ip link set <veth> down`), not a mock. Addresses are private
/// (10.77.<run>.<id>/24) and exist only on this machine; everything is deleted by ``tearDown()``.
/// Needs root and iproute2 (`ip`).
final class NetworkLab: Sendable {
    let tag: String
    let subnet: Int
    let ids: [UInt64]

    init(ids: [UInt64]) throws {
        let run = Int(getpid()) % 100_000
        tag = "\(run)"
        subnet = 1 + run % 250
        self.ids = ids
        guard getuid() == 0 else { throw TortureError("network partitions need root (network namespaces); run without --partitions") }
        do {
            try setUp()
        } catch {
            tearDown()
            throw error
        }
    }

    private func setUp() throws {
        try Self.ip(["link", "add", bridge, "type", "bridge"])
        try Self.ip(["addr", "add", "10.77.\(subnet).254/24", "dev", bridge])
        try Self.ip(["link", "set", bridge, "up"])
        for id in ids {
            try Self.ip(["netns", "add", namespace(id)])
            try Self.ip(["link", "add", hostSide(id), "type", "veth", "peer", "name", "hp\(tag)p\(id)"])
            try Self.ip(["link", "set", "hp\(tag)p\(id)", "netns", namespace(id)])
            try Self.ip(["link", "set", hostSide(id), "master", bridge])
            try Self.ip(["link", "set", hostSide(id), "up"])
            try Self.ip(["netns", "exec", namespace(id), "ip", "addr", "add", "\(address(id))/24", "dev", "hp\(tag)p\(id)"])
            try Self.ip(["netns", "exec", namespace(id), "ip", "link", "set", "hp\(tag)p\(id)", "up"])
            try Self.ip(["netns", "exec", namespace(id), "ip", "link", "set", "lo", "up"])
        }
    }

    var bridge: String { "hb\(tag)" }
    func namespace(_ id: UInt64) -> String { "helios-torture-\(tag)-\(id)" }
    func hostSide(_ id: UInt64) -> String { "hv\(tag)h\(id)" }
    func address(_ id: UInt64) -> String { "10.77.\(subnet).\(id)" }

    /// Cuts (or restores) the server's only link: it can reach no peer and no client.
    func setConnected(_ id: UInt64, _ connected: Bool) throws {
        try Self.ip(["link", "set", hostSide(id), connected ? "up" : "down"])
    }

    func tearDown() {
        for id in ids {
            _ = try? Self.ip(["link", "del", hostSide(id)])
            _ = try? Self.ip(["netns", "del", namespace(id)])
        }
        _ = try? Self.ip(["link", "del", bridge])
    }

    @discardableResult
    static func ip(_ arguments: [String]) throws -> String {
        try runSystemTool(["/usr/sbin/ip", "/sbin/ip"], arguments)
    }
}
