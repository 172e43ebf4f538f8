import HeliosProto
import SwiftProtobuf

extension Helios_V1_ReschedulePolicy {
    /// Nomad's defaults: service jobs reschedule without limit with exponential delay (30 s, up to
    /// 1 h); batch jobs once within 24 h after 5 s.
    public static func defaults(for type: Helios_V1_JobType) -> Helios_V1_ReschedulePolicy {
        if type == .batch {
            return .with {
                $0.attempts = 1
                $0.intervalMs = 24 * 3_600_000
                $0.delayMs = 5_000
                $0.delayFunction = "constant"
            }
        }
        return .with {
            $0.unlimited = true
            $0.delayMs = 30_000
            $0.delayFunction = "exponential"
            $0.maxDelayMs = 3_600_000
        }
    }

    /// Whether the policy says nothing (use the defaults).
    var isEmpty: Bool { attempts == 0 && !unlimited && delayMs == 0 && intervalMs == 0 }

    /// The delay before the next attempt, given the delays used so far (oldest first).
    func nextDelay(previous: [UInt64]) -> UInt64 {
        let base = delayMs
        var delay: UInt64
        switch delayFunction {
        case "exponential":
            delay = previous.last.map { $0 == 0 ? base : $0 * 2 } ?? base
        case "fibonacci":
            if previous.count >= 2 {
                delay = previous[previous.count - 1] + previous[previous.count - 2]
            } else {
                delay = base
            }
        default:
            delay = base
        }
        if maxDelayMs > 0 { delay = min(delay, maxDelayMs) }
        return delay
    }
}
