import HeliosLog
import HeliosState

extension ClusterState {
    /// The state digest: CRC32C of ``ClusterState/canonicalBytes()``. Servers that applied the same
    /// events report the same digest (`ClusterInfo`, `helios operator state`).
    public func digest() -> UInt32 {
        canonicalBytes().withUnsafeBytes { CRC32C.extend(0, $0) }
    }
}
