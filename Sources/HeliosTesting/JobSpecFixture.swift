import HeliosProto
import SwiftProtobuf

/// The job spec that tests, benchmarks, the torture workload and the event generator register: one
/// group of one exec task in datacenter `dc1`, every part that differs between them settable. The
/// defaults are the event generator's (the snapshot golden vector is made from its events).
public enum JobSpecFixture {
    public static func spec(
        id: String, type: Helios_V1_JobType = .service, count: UInt32 = 2, cpu: UInt32 = 100, memory: UInt32 = 64,
        group: String = "main", task: String = "task", command: String = "/bin/sleep", args: [String] = ["60"],
        env: [String: String] = ["MODE": "test"]
    ) -> JobSpec {
        .with {
            $0.id = id
            $0.name = id
            $0.type = type
            $0.priority = 50
            $0.datacenters = ["dc1"]
            $0.groups = [.with {
                $0.name = group
                $0.count = count
                $0.tasks = [.with {
                    $0.name = task
                    $0.driver = "exec"
                    $0.command = command
                    $0.args = args
                    $0.resources = .with { $0.cpuMhz = cpu; $0.memoryMb = memory }
                    $0.env = env.keys.sorted().map { key in .with { $0.key = key; $0.value = env[key]! } }
                }]
            }]
        }
    }
}
