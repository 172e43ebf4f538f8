import GRPCCore
import GRPCNIOTransportHTTP2
import HeliosProto
import HeliosRaft
import HeliosReplication
import HeliosState
import Logging
import SwiftProtobuf
import Synchronization

/// A `host:port` address.
public struct PeerAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    /// Parses `host:port` (also `http://host:port`); nil if it is not one.
    public init?(_ text: String) {
        var rest = Substring(text)
        for scheme in ["http://", "https://"] where rest.hasPrefix(scheme) { rest = rest.dropFirst(scheme.count) }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]), (0...65535).contains(port) else {
            return nil
        }
        let host = String(rest[..<colon])
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { "\(host):\(port)" }

    /// The gRPC client target for this address.
    var target: any ResolvableTarget {
        let parts = host.split(separator: ".")
        if parts.count == 4, parts.allSatisfy({ UInt8($0) != nil }) {
            return ResolvableTargets.IPv4(addresses: [SocketAddress.IPv4(host: host, port: port)])
        }
        return ResolvableTargets.DNS(host: host, port: port)
    }
}

extension PeerAddress {
    /// A plaintext HTTP/2 client transport to this address that reconnects quickly (50 ms, at most
    /// 1 s apart): between servers a long back-off would turn a restarted peer into a slow failover.
    func clientTransport() throws -> HTTP2ClientTransport.Posix {
        var config = HTTP2ClientTransport.Posix.Config.defaults
        config.backoff = .init(initial: .milliseconds(50), max: .seconds(1), multiplier: 1.6, jitter: 0.2)
        return try HTTP2ClientTransport.Posix(target: target, transportSecurity: .plaintext, config: config)
    }
}
