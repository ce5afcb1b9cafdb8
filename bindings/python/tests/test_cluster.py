"""cryptonets.remote against the test cluster of scripts/test-cluster.sh: three
``cryptonets serve`` replicas sharing their keys in Redis, behind HAProxy. The
script runs this file with the cluster's addresses in CRYPTONETS_CLUSTER_URL and
CRYPTONETS_CLUSTER_REPLICAS; without them it is skipped.

Fast, NOT secure parameters: the check is about how one job's requests spread.
"""

from __future__ import annotations

import os
import urllib.request
from typing import Any, List

import pytest

import cryptonets as cn

URL = os.environ.get("CRYPTONETS_CLUSTER_URL")
REPLICAS: List[str] = [r for r in os.environ.get("CRYPTONETS_CLUSTER_REPLICAS", "").split(",") if r]

pytestmark = pytest.mark.skipif(not URL, reason="no test cluster: scripts/test-cluster.sh runs this file")

#: The images of the job.
N = 240

PREDICTIONS = 'cryptonets_requests_total{code="200",route="POST /v1/models/{name}/predict"}'


def predictions(replica: str) -> float:
    """The predictions a replica answered (its Prometheus metrics)."""
    with urllib.request.urlopen(replica + "/metrics", timeout=30) as resp:
        for line in resp.read().decode().splitlines():
            series, _, value = line.rpartition(" ")
            if series == PREDICTIONS:
                return float(value)
    return 0.0


def test_one_job_is_served_by_every_replica(mnist: Any, tmp_path: Any) -> None:
    """240 images in one predict call, single-image packing (a few images per
    request), six requests in flight through HAProxy: every replica serves part of
    the job, and the labels come back in input order, equal to the plaintext
    model's."""
    assert len(REPLICAS) == 3, REPLICAS
    before = [predictions(r) for r in REPLICAS]
    with cn.remote.connect(URL, in_flight=6, keys_dir=tmp_path, allow_insecure_for_testing=True) as svc:
        labels = svc.predict("mnist", mnist.numpy(N), packing="single", params="InsecureN12QP215S", expect=8)
        retries = svc.retries
    served = [predictions(r) - b for r, b in zip(REPLICAS, before)]
    print(f"cluster: Python job of {N} images: requests per replica {served}, {retries} retries")
    assert [int(v) for v in labels] == mnist.reference[:N]
    assert all(n > 0 for n in served), served
