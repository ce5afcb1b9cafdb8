"""Any number of images through every call, and plaintext evaluation: more images than
one request holds encrypt into one batch of several requests, travel as one upload and
decrypt into one array in input order; Model.predict_plain gives the reference."""

from __future__ import annotations

from typing import Any

import pytest

import cryptonets as cn
from conftest import Mnist


def test_more_images_than_a_request(model: Any, insecure_manifest: Any, mnist: Mnist) -> None:
    np = pytest.importorskip("numpy")
    per = insecure_manifest.images_per_batch
    n = per + 3
    # The fixture images, repeated: request 2 holds images 0, 1, 2 again.
    x = np.resize(mnist.numpy(mnist.n), (n, 784))
    with cn.Client(insecure_manifest) as client, cn.Server(model, client.evaluation_keys()) as server:
        with client.encrypt(x) as batch:
            assert batch.images == n and batch.requests == 2
            upload, ids = batch.to_bytes(), batch.request_ids
            assert len(ids) == 2 * 32
        result_bytes = server.predict_bytes(upload)
        with cn.EncryptedResult.from_bytes(result_bytes, client.manifest) as result:
            assert result.images == n and result.requests == 2
            logits = client.decrypt(result, ids)
        # A damaged upload: the error names the request.
        with pytest.raises(cn.MalformedError, match="request 2 of 2"):
            cn.EncryptedBatch.from_bytes(upload[:-1], server.manifest)
    assert logits.shape == (n, 10)
    want = [mnist.reference[i % mnist.n] for i in range(n)]
    assert [int(v) for v in logits.argmax(axis=1)] == want
    plain = model.predict_plain(x)
    assert plain.shape == (n, 10)
    assert float(np.abs(plain - logits).max()) < 0.1


def test_predict_plain(model: Any, mnist: Mnist) -> None:
    np = pytest.importorskip("numpy")
    assert model.input_shape == (1, 28, 28) and model.outputs == 10
    x = mnist.images(0, 32)
    logits = model.predict_plain(x)
    assert logits.shape == (32, 10) and logits.dtype == np.float64
    assert [int(v) for v in logits.argmax(axis=1)] == mnist.reference[:32]
    assert np.array_equal(model.predict_plain(x.reshape(32, 784).tolist()), logits)
    with pytest.raises(cn.InvalidArgumentError, match="expected"):
        model.predict_plain(np.zeros((2, 700)))
    bad = x.copy()
    bad[1, 0, 2, 3] = 2.0
    with pytest.raises(cn.InvalidArgumentError, match=r"record 1: pixel \(x 3, y 2\) is 2"):
        model.predict_plain(bad)
