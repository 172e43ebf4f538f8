import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Loopback ports the kernel reports free. A server list must name every port before any server
/// starts, so the ports are picked up front (bind to port 0, read the port, close); another process
/// could take one in between, which shows up as a clear "address in use" failure, not a wrong result.
public enum FreePorts {
    public static func pick(_ count: Int) throws -> [Int] {
        var sockets: [Int32] = []
        defer { for socket in sockets { close(socket) } }
        var ports: [Int] = []
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw POSIXError(.EMFILE) }
            sockets.append(fd)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = 0
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
            }
            guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
            let named = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            guard named == 0 else { throw POSIXError(.EINVAL) }
            ports.append(Int(UInt16(bigEndian: address.sin_port)))
        }
        return ports
    }
}
