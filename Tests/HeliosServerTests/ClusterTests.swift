import Foundation
import GRPCCore
import HeliosAPI
import HeliosProto
import HeliosRaft
import HeliosServer
import SwiftProtobuf
import Synchronization
import Testing

extension ServerTests {
    /// Three servers over real loopback gRPC: election, replication, writes on followers, restarts, failover.
    @Suite struct Cluster {
        @Test func electsOneLeaderAndReplicatesAWriteToEveryServer() async throws {
            try await TestCluster.with { cluster in
                let leader = try await cluster.waitForLeader()
                let response = try await cluster.jobs(leader).register(.with { $0.spec = jobSpec("web") })
                #expect(response.version == 1)
                try await cluster.waitForConvergence(atLeast: response.index)
                for id in cluster.ids {
                    let job = try await cluster.jobs(id).get(.with {
                        $0.jobID = "web"
                        $0.read.stale = true
                    })
                    #expect(job.job.versions.count == 1, "server \(id)")
            }
            }
        }

        @Test(arguments: ServerConfiguration.RPCStack.allCases)
        func aWriteOnAFollowerIsForwardedAndReadableEverywhereAtOnce(stack: ServerConfiguration.RPCStack) async throws {
            try await TestCluster.with(rpcStack: stack) { cluster in
                let leader = try await cluster.waitForLeader()
                let followers = cluster.ids.filter { $0 != leader }
                let response = try await cluster.jobs(followers[0]).register(.with { $0.spec = jobSpec("api", count: 2) })
                #expect(response.index > 0)
                // A linearizable read on the other follower sees it without waiting.
                let job = try await cluster.jobs(followers[1]).get(.with { $0.jobID = "api" })
                #expect(job.job.id == "api")
                #expect(job.index >= response.index)
            }
        }

        @Test func aRestartedServerResumesFromItsDataDirectoryAndCatchesUp() async throws {
            try await TestCluster.with { cluster in
                let leader = try await cluster.waitForLeader()
                let follower = cluster.ids.first { $0 != leader }!
                _ = try await cluster.jobs(leader).register(.with { $0.spec = jobSpec("before") })
                await cluster.stop(follower)
                var last: UInt64 = 0
                for i in 0..<10 { last = try await cluster.jobs(leader).register(.with { $0.spec = jobSpec("while-down-\(i)") }).index }
                try await cluster.start(follower)  // no bootstrap: resumes
                try await cluster.waitForConvergence(atLeast: last)
                let listed = try await cluster.jobs(follower).list(.with { $0.read.stale = true })
                #expect(listed.jobs.count == 11)
            }
        }

        /// Election timeouts of 30-60 s (600 ticks of 50 ms): within this test's deadline only the
        /// closed connections of the stopped leader can start the election.
        @Test func followersElectANewLeaderWhenTheLeadersConnectionsClose() async throws {
            try await TestCluster.with(electionTicks: 600) { cluster in
                let leader = try await cluster.waitForLeader()
                _ = try await cluster.jobs(leader).register(.with { $0.spec = jobSpec("before") })
                await cluster.stop(leader)
                let newLeader = try await cluster.waitForLeader(excluding: [leader], timeout: .seconds(20))
                #expect(newLeader != leader)
                _ = try await cluster.jobs(newLeader).register(.with { $0.spec = jobSpec("after") })
                for id in cluster.ids where id != leader {
                    let listed = try await cluster.jobs(id).list(.init())
                    #expect(Set(listed.jobs.map(\.id)) == ["before", "after"], "server \(id)")
                }
            }
        }

        /// As above, 30-60 s election timeouts: a leader stopped gracefully hands leadership over
        /// before its streams close.
        @Test func aLeaderStoppedGracefullyHandsLeadershipOver() async throws {
            try await TestCluster.with(electionTicks: 600) { cluster in
                let leader = try await cluster.waitForLeader()
                let term = try await cluster.operators(leader).clusterInfo(.init()).term
                _ = try await cluster.jobs(leader).register(.with { $0.spec = jobSpec("before") })
                #expect(await cluster.stopGracefully(leader), "leadership handed over")
                let newLeader = try await cluster.waitForLeader(excluding: [leader], timeout: .seconds(20))
                #expect(try await cluster.operators(newLeader).clusterInfo(.init()).term == term + 1, "one election, no pre-vote failures")
                _ = try await cluster.jobs(newLeader).register(.with { $0.spec = jobSpec("after") })
                let listed = try await cluster.jobs(newLeader).list(.init())
                #expect(Set(listed.jobs.map(\.id)) == ["before", "after"])
            }
        }

        /// The torture suite's log check: a leader stopped gracefully, restarted, must hear from the
        /// new leader and catch up (its peers' Raft streams to it reconnect to the new process).
        @Test(arguments: ServerConfiguration.RPCStack.allCases)
        func aLeaderStoppedGracefullyAndRestartedCatchesUp(stack: ServerConfiguration.RPCStack) async throws {
            try await TestCluster.with(rpcStack: stack) { cluster in
                let leader = try await cluster.waitForLeader()
                for i in 0..<20 { _ = try await cluster.jobs(leader).register(.with { $0.spec = jobSpec("before-\(i)") }) }
                #expect(await cluster.stopGracefully(leader), "leadership handed over")
                try await cluster.start(leader)
                let newLeader = try await cluster.waitForLeader(excluding: [leader])
                var last: UInt64 = 0
                for i in 0..<20 { last = try await cluster.jobs(newLeader).register(.with { $0.spec = jobSpec("after-\(i)") }).index }
                try await cluster.waitForConvergence(atLeast: last)
                let listed = try await cluster.jobs(leader).list(.with { $0.read.stale = true })
                #expect(listed.jobs.count == 40)
            }
        }

        /// The torture suite's log check stops and restarts every server gracefully in turn; the
        /// leader then moves to a server that just restarted, and the server stopped last must catch
        /// up from it.
        @Test(arguments: ServerConfiguration.RPCStack.allCases)
        func everyServerRestartedGracefullyInTurnCatchesUp(stack: ServerConfiguration.RPCStack) async throws {
            try await TestCluster.with(rpcStack: stack) { cluster in
                var leader = try await cluster.waitForLeader()
                var count = 0
                for id in cluster.ids {
                    for _ in 0..<10 {
                        _ = try await cluster.jobs(leader).register(.with { $0.spec = jobSpec("job-\(count)") })
                        count += 1
                    }
                    _ = await cluster.stopGracefully(id)
                    try await cluster.start(id)
                    leader = try await cluster.waitForLeader()
                }
                var last: UInt64 = 0
                for i in 0..<10 { last = try await cluster.jobs(leader).register(.with { $0.spec = jobSpec("after-\(i)") }).index }
                try await cluster.waitForConvergence(atLeast: last)
                for id in cluster.ids {
                    let listed = try await cluster.jobs(id).list(.with { $0.read.stale = true })
                    #expect(listed.jobs.count == count + 10, "server \(id)")
                }
            }
        }

        @Test func leaderFailoverLosesNoAcknowledgedJob() async throws {
            try await TestCluster.with { cluster in
                let leader = try await cluster.waitForLeader()
                let acknowledged = Mutex<[String]>([])
                let killed = Mutex(false)
                let survivors = cluster.ids.filter { $0 != leader }
                // A writer that keeps registering jobs, moving to another server on errors.
                let writer = Task {
                    var attempt = 0
                    var i = 0
                    let deadline = ContinuousClock.now + .seconds(40)
                    while ContinuousClock.now < deadline {
                        let targets = killed.withLock { $0 } ? survivors : cluster.ids
                        let target = targets[attempt % targets.count]
                        let id = "job-\(i)"
                        do {
                            _ = try await cluster.jobs(target).register(.with { $0.spec = jobSpec(id) })
                            acknowledged.withLock { $0.append(id) }
                            i += 1
                            if killed.withLock({ $0 }) && acknowledged.withLock({ $0.count }) >= 60 { return }
                        } catch {
                            attempt += 1
                            try? await Task.sleep(for: .milliseconds(50))
                        }
                    }
            }
            _ = try await eventually(timeout: .seconds(20), "20 acknowledged writes") { acknowledged.withLock { $0.count >= 20 } ? true : nil }
            await cluster.stop(leader)
            killed.withLock { $0 = true }
            let newLeader = try await cluster.waitForLeader(excluding: [leader])
            #expect(newLeader != leader)
            await writer.value
            let acked = acknowledged.withLock { $0 }
            #expect(acked.count >= 60, "writes kept being acknowledged after the failover")
            let index = try await cluster.operators(newLeader).clusterInfo(.init()).commitIndex
            try await cluster.waitForConvergence(atLeast: index)
            for id in survivors {
                let listed = try await cluster.jobs(id).list(.with { $0.read.stale = true })
                let present = Set(listed.jobs.map(\.id))
                let missing = acked.filter { !present.contains($0) }
                #expect(missing.isEmpty, "server \(id) lost acknowledged jobs \(missing.prefix(5))")
            }
            }
        }
    }
}
