"""obsctl.localaws: the local AWS emulator Terraform's lab and tests run against."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from obsctl import localaws


def test_in_process_emulator_serves_the_services_the_module_uses():
    aws = localaws.start()
    try:
        env = aws.env()
        assert env["AWS_ENDPOINT_URL"] == aws.endpoint
        assert aws.endpoint.startswith("http://127.0.0.1:")
        assert env["AWS_DEFAULT_REGION"] == localaws.DEFAULT_REGION
        assert aws.client("sts").get_caller_identity()["Account"].isdigit()
        # AmazonSSMManagedInstanceCore must exist: the module attaches it to the instance role.
        policy = aws.client("iam").get_policy(PolicyArn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore")
        assert policy["Policy"]["PolicyName"] == "AmazonSSMManagedInstanceCore"
        aws.ensure_bucket("obs-lab-tfstate")
        aws.ensure_bucket("obs-lab-tfstate")  # idempotent
        names = [b["Name"] for b in aws.client("s3").list_buckets()["Buckets"]]
        assert names.count("obs-lab-tfstate") == 1
    finally:
        aws.stop()


def test_detached_emulator_outlives_its_starter_and_stops(tmp_path: Path):
    state = tmp_path / "localaws.json"
    log = tmp_path / "localaws.log"
    aws = localaws.start_detached(state, log)
    try:
        assert aws.pid is not None
        assert state.exists()
        again = localaws.attach(state)
        assert again is not None
        assert (again.pid, again.endpoint) == (aws.pid, aws.endpoint)
        # A second start reuses the running one instead of starting another.
        assert localaws.start_detached(state, log).pid == aws.pid
        aws.client("s3").create_bucket(
            Bucket="kept-between-calls", CreateBucketConfiguration={"LocationConstraint": aws.region}
        )
        assert "kept-between-calls" in [b["Name"] for b in again.client("s3").list_buckets()["Buckets"]]
    finally:
        stopped = localaws.stop_detached(state)
    assert stopped is True
    assert not state.exists()
    assert localaws.attach(state) is None
    with pytest.raises(ProcessLookupError):
        os.kill(aws.pid, 0)


def test_attach_ignores_a_stale_state_file(tmp_path: Path):
    state = tmp_path / "localaws.json"
    state.write_text('{"pid": 999999999, "port": 1}\n')
    assert localaws.attach(state) is None
    assert localaws.stop_detached(state) is False
