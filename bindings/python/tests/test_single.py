"""Single-image packing from Python: one image per request at 128-bit parameters,
several requests in one batch, and the automatic choice of packing."""

from __future__ import annotations

from typing import Any

import pytest

import cryptonets as cn
from conftest import Mnist


def test_single_image_requests_128_bit(model: Any, mnist: Mnist) -> None:
    manifest = model.manifest(packing="single")
    assert manifest.packing == "single"
    assert manifest.images_per_batch == 1
    assert manifest.params == "N13QP215S" and not manifest.insecure
    with cn.Client(cn.Manifest.from_bytes(manifest.to_bytes())) as client:
        keys = cn.EvaluationKeys.from_bytes(client.evaluation_keys().to_bytes(), manifest)
        with cn.Server(model, keys) as server:  # the plan of the keys' manifest
            assert server.manifest.packing == "single"
            for i, image in enumerate(mnist.rows(8)):
                request = client.encrypt([image])
                result = cn.EncryptedResult.from_bytes(
                    server.predict_bytes(request.to_bytes()), client.manifest
                )
                assert [int(v) for v in client.decrypt_labels(result, request)] == [mnist.reference[i]]
            # Any number of images: one request each, one upload, one result array.
            with client.encrypt(mnist.rows(3)) as batch:
                assert batch.requests == 3 and batch.images == 3
                received = cn.EncryptedBatch.from_bytes(batch.to_bytes(), server.manifest)
                with server.predict(received) as result:
                    assert result.requests == 3
                    labels = client.decrypt_labels(
                        cn.EncryptedResult.from_bytes(result.to_bytes(), client.manifest), batch
                    )
                    assert [int(v) for v in labels] == mnist.reference[:3]


def test_auto_follows_the_expected_image_count(model: Any) -> None:
    assert model.manifest(expected_images=1).packing == "single"
    assert model.manifest(expected_images=8192).packing == "batch"
    assert model.manifest().packing == "batch"
    assert model.manifest(packing="batch", expected_images=1).packing == "batch"
    with pytest.raises(ValueError, match="packing"):
        model.manifest(packing="lola")
    with pytest.raises(ValueError, match="expected_images"):
        model.manifest(expected_images=-1)
