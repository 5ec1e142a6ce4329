"""Worker-id leases keep Snowflake ids unique across processes that run at the same time."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from aperture.adapters.aws import dynamo_table
from aperture.ids import DynamoWorkerLease, id_worker
from aperture.settings import get_settings
from local.provision import Provisioned

ROOT = Path(__file__).resolve().parents[2]


class Wall:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _table():
    return dynamo_table(get_settings().table_workers)


def test_two_live_leases_never_share_a_worker_id(aws: Provisioned) -> None:
    leases = [DynamoWorkerLease(_table(), lease_seconds=600) for _ in range(20)]
    assert len({lease.worker_id() for lease in leases}) == 20


def test_a_lease_is_renewed_while_in_use_and_kept(aws: Provisioned) -> None:
    wall = Wall(1_000_000.0)
    lease = DynamoWorkerLease(_table(), lease_seconds=100, wall=wall)
    first = lease.worker_id()
    wall.now += 60  # past half the lease: renewed, same id
    assert lease.worker_id() == first
    wall.now += 60  # past the original expiry, but within the renewed one
    assert lease.worker_id() == first
    other = DynamoWorkerLease(_table(), lease_seconds=100, wall=wall)
    assert other.worker_id() != first


def test_a_lapsed_lease_is_claimed_again_before_any_id_is_made(aws: Provisioned) -> None:
    wall = Wall(2_000_000.0)
    frozen = DynamoWorkerLease(_table(), lease_seconds=100, wall=wall)
    held = frozen.worker_id()
    wall.now += 500  # the instance was frozen past its lease
    assert frozen.worker_id() == held  # nobody took it, so it is claimed back, checked by a conditional write
    item = _table().get_item(Key={"worker_id": held})["Item"]
    assert int(item["lease_expires_at"]) == int(wall.now) + 100


GENERATE = textwrap.dedent(
    """
    import sys
    from aperture.ids import new_id
    with open(sys.argv[1], "w") as out:
        out.write("\\n".join(str(new_id()) for _ in range(100_000)))
    """
)


def test_two_processes_make_100000_ids_each_with_no_collision(aws: Provisioned, tmp_path: Path) -> None:
    # Given two processes leasing worker ids from the same table
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers/core/python")])}
    outputs = [tmp_path / "a.txt", tmp_path / "b.txt"]
    # When both generate 100,000 ids at the same time
    running = [subprocess.Popen([sys.executable, "-c", GENERATE, str(out)], env=env) for out in outputs]
    assert [p.wait(timeout=120) for p in running] == [0, 0]
    batches = [[int(line) for line in out.read_text().split()] for out in outputs]
    # Then each process's ids strictly increase, they used different workers, and no id appears twice
    for batch in batches:
        assert len(batch) == 100_000
        assert all(a < b for a, b in itertools.pairwise(batch))
    assert {id_worker(batches[0][0])} != {id_worker(batches[1][0])}
    assert len(set(batches[0]) | set(batches[1])) == 200_000
