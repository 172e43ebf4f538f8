import GRPCNIOTransportHTTP2

/// A server address as people write it: `host:port` or `http://host:port`.
public struct ServerAddress: Hashable, Sendable, CustomStringConvertible {
    /// The host name or IPv4 address.
    public var host: String
    /// The TCP port.
    public var port: Int

    /// Creates an address from its parts.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` or `http://host:port`; the error names the text and shows an example.
    public init(parsing text: String) throws(HeliosClientError) {
        var rest = Substring(text.trimmingWhitespace())
        for scheme in ["http://", "https://"] where rest.hasPrefix(scheme) { rest = rest.dropFirst(scheme.count) }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard let colon = rest.lastIndex(of: ":"), colon != rest.startIndex,
            let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port)
        else {
            throw HeliosClientError(.invalidArgument, "server address '\(text)' is not host:port (e.g. 127.0.0.1:50051)")
        }
        self.init(host: String(rest[..<colon]), port: port)
    }

    /// Parses a list as given on a command line or in `HELIOS_ADDR`: each entry may itself be
    /// comma-separated.
    public static func parseList(_ entries: [String]) throws(HeliosClientError) -> [ServerAddress] {
        var addresses: [ServerAddress] = []
        for entry in entries {
            for part in entry.split(separator: ",") where !part.allSatisfy(\.isWhitespace) {
                let address = try ServerAddress(parsing: String(part))
                if !addresses.contains(address) { addresses.append(address) }
            }
        }
        return addresses
    }

    /// Whether the host is a dotted IPv4 address (no resolution needed).
    var isIPv4: Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }

    /// A plaintext HTTP/2 transport to this address (IPv4 literal or DNS name), reconnecting with
    /// backoff from 100 ms up to 2 s: what the client and the agent both connect with.
    public func makeTransport() throws -> HTTP2ClientTransport.Posix {
        var config = HTTP2ClientTransport.Posix.Config.defaults
        config.backoff = .init(initial: .milliseconds(100), max: .seconds(2), multiplier: 1.6, jitter: 0.2)
        let target: any ResolvableTarget = isIPv4
            ? ResolvableTargets.IPv4(addresses: [.init(host: host, port: port)])
            : ResolvableTargets.DNS(host: host, port: port)
        return try HTTP2ClientTransport.Posix(target: target, transportSecurity: .plaintext, config: config)
    }

    public var description: String { "\(host):\(port)" }
}

extension String {
    func trimmingWhitespace() -> Substring {
        var text = Substring(self)
        while text.first?.isWhitespace == true { text = text.dropFirst() }
        while text.last?.isWhitespace == true { text = text.dropLast() }
        return text
    }
}
