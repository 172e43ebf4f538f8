"""A stock Python gRPC client against a Helios server: stubs generated from Formats/proto with
grpc_tools.protoc, then Register/Get/List and the event stream. Exits non-zero on any mismatch.

usage: grpc_client_check.py <generated-stubs-dir> <host:port>
"""
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from helios.v1 import api_pb2, api_pb2_grpc, types_pb2  # noqa: E402


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


channel = grpc.insecure_channel(sys.argv[2])
grpc.channel_ready_future(channel).result(timeout=10)
jobs = api_pb2_grpc.JobsStub(channel)
events = api_pb2_grpc.EventsStub(channel)

spec = types_pb2.JobSpec(
    id="py-job",
    type=types_pb2.JOB_TYPE_BATCH,
    groups=[types_pb2.TaskGroup(
        name="g", count=2,
        tasks=[types_pb2.Task(name="t", driver="exec", command="/bin/true",
                              resources=types_pb2.Resources(cpu_mhz=100, memory_mb=32))])],
)
registered = jobs.Register(api_pb2.RegisterJobRequest(spec=spec), timeout=10)
check(registered.version == 1, f"version 1, got {registered.version}")
check(registered.index > 0, "a log index")

got = jobs.Get(api_pb2.GetJobRequest(job_id="py-job"), timeout=10)
check(got.job.id == "py-job", "Get returns the job")
check(got.job.versions[-1].spec.groups[0].count == 2, "the spec round-trips")

listed = jobs.List(api_pb2.ListJobsRequest(), timeout=10)
check([j.id for j in listed.jobs] == ["py-job"], f"List: {[j.id for j in listed.jobs]}")

try:
    jobs.Get(api_pb2.GetJobRequest(job_id="nope"), timeout=10)
    check(False, "Get of an unknown job fails")
except grpc.RpcError as error:
    check(error.code() == grpc.StatusCode.NOT_FOUND, f"NOT_FOUND, got {error.code()}")
    check("job nope" in error.details(), f"the message names the job: {error.details()}")

stream = events.Stream(api_pb2.EventStreamRequest(after_index=0, topics=["job"], key="py-job"), timeout=10)
first = next(stream)
check(first.index == registered.index, f"event at index {registered.index}, got {first.index}")
check(first.topic == "job", "topic job")
check(first.event.WhichOneof("kind") == "job_registered", "a JobRegistered event")
check(first.event.job_registered.spec.id == "py-job", "about py-job")
stream.cancel()

# Many calls in flight on one channel (grpcio needs the server to advertise its stream limit).
futures = [jobs.Get.future(api_pb2.GetJobRequest(job_id="py-job", read=api_pb2.ReadOptions(stale=True)), timeout=20)
           for _ in range(300)]
check(all(f.result().job.id == "py-job" for f in futures), "300 concurrent calls")
print("python grpc client: ok")
