"""Every failure raises the right exception with the library's message, and the
process stays usable: each test ends with a successful operation."""

from __future__ import annotations

import gc
import hashlib
import math
import os
import random
import struct
from typing import Any, Dict, Iterator

import pytest

import cryptonets as cn
from cryptonets import _ffi
from conftest import REPO, Mnist

N = 32


@pytest.fixture(scope="module")
def pair(model: Any, insecure_manifest: Any) -> Iterator[Any]:
    """A client and its server at the insecure (fast) test parameters."""
    client = cn.Client(insecure_manifest)
    keys = client.evaluation_keys()
    server = cn.Server(model, keys)
    yield client, server
    for obj in (server, keys, client):
        obj.close()


def round_trip(client: Any, server: Any, mnist: Mnist, n: int = N) -> None:
    """A successful operation: encrypt, predict, decrypt, labels = Go reference."""
    with client.encrypt(mnist.numpy(n)) as batch, server.predict(batch) as result:
        labels = [int(v) for v in client.decrypt_labels(result, batch)]
    assert labels == mnist.reference[:n]


def test_round_trip_insecure_params(pair: Any, mnist: Mnist, insecure_manifest: Any) -> None:
    assert insecure_manifest.insecure and insecure_manifest.params == cn.INSECURE_TEST_PARAMS
    assert insecure_manifest.input_shape == (1, 28, 28)
    assert insecure_manifest.input_range == (0.0, 1.0)
    assert insecure_manifest.outputs == 10
    round_trip(*pair, mnist)


def test_wrong_key(pair: Any, mnist: Mnist, insecure_manifest: Any) -> None:
    client, server = pair
    other = cn.Client(insecure_manifest)
    with client.encrypt(mnist.numpy(4)) as batch, server.predict(batch) as result:
        with pytest.raises(cn.IntegrityError) as err:
            other.decrypt(result, batch)
        assert err.value.code == _ffi.CN_E_INTEGRITY
        assert str(err.value).startswith("cn_client_decrypt: ")
        assert "not this client's" in str(err.value)
        # The right client still decrypts it.
        assert [int(v) for v in client.decrypt_labels(result, batch)] == mnist.reference[:4]
    other.close()
    round_trip(client, server, mnist)


def test_truncated_bytes(pair: Any, mnist: Mnist, insecure_manifest: Any) -> None:
    client, server = pair
    with client.encrypt(mnist.numpy(2)) as batch:
        data = batch.to_bytes()
    for cut in (data[:-1], data[:100], data[:10], b"", data + b"\0"):
        with pytest.raises(cn.MalformedError) as err:
            cn.EncryptedBatch.from_bytes(cut, server.manifest)
        assert str(err.value).startswith("cn_encrypted_batch_deserialize: ")
    manifest_bytes = insecure_manifest.to_bytes()
    with pytest.raises(cn.MalformedError, match="^cn_manifest_deserialize"):
        cn.Manifest.from_bytes_insecure_for_testing(manifest_bytes[:-3])
    with pytest.raises(cn.MalformedError, match="^cn_eval_keys_deserialize"):
        cn.EvaluationKeys.from_bytes(client.evaluation_keys().to_bytes()[:-1], insecure_manifest)
    with pytest.raises(cn.MalformedError, match="^cn_encrypted_result_deserialize"):
        cn.EncryptedResult.from_bytes(b"CNET" + bytes(100), insecure_manifest)
    with pytest.raises(cn.MalformedError, match="bad magic"):
        cn.EncryptedBatch.from_bytes(b"X" * 200, server.manifest)
    # The intact bytes still work, from bytes, bytearray and memoryview alike.
    for form in (data, bytearray(data), memoryview(data)):
        with cn.EncryptedBatch.from_bytes(form, server.manifest) as b, server.predict(b) as r:
            assert [int(v) for v in client.decrypt_labels(r, b)] == mnist.reference[:2]


def test_other_parameters(
    pair: Any, mnist: Mnist, model: Any, secure_manifest: Any, insecure_manifest: Any
) -> None:
    client, server = pair
    assert secure_manifest.params != insecure_manifest.params
    with client.encrypt(mnist.numpy(2)) as batch:
        data = batch.to_bytes()
        secure_client = cn.Client(secure_manifest)
        with cn.Server(model, secure_client.evaluation_keys()) as secure_server:
            with pytest.raises(cn.MismatchError) as err:
                cn.EncryptedBatch.from_bytes(data, secure_server.manifest)
            assert err.value.code == _ffi.CN_E_MISMATCH
            assert str(err.value).startswith("cn_encrypted_batch_deserialize: ")
            with pytest.raises(cn.MismatchError, match="^cn_server_predict: "):
                secure_server.predict(batch)
        with pytest.raises(cn.MismatchError, match="^cn_eval_keys_deserialize: "):
            cn.EvaluationKeys.from_bytes(client.evaluation_keys().to_bytes(), secure_manifest)
        with pytest.raises(cn.MismatchError, match="^cn_client_restore: "):
            cn.Client.restore(secure_manifest, client.export_secret_key())
        # A manifest in place of a batch: another kind.
        with pytest.raises(
            cn.MismatchError, match="expected an encrypted batch or a sequence of them, got manifest"
        ):
            cn.EncryptedBatch.from_bytes(insecure_manifest.to_bytes(), insecure_manifest)
        secure_client.close()
        # The batch is still whole after the failed prediction.
        with server.predict(batch) as result:
            assert [int(v) for v in client.decrypt_labels(result, batch)] == mnist.reference[:2]
    round_trip(client, server, mnist)


def test_insecure_parameters_need_the_named_functions(
    model: Any, insecure_manifest: Any, pair: Any, mnist: Mnist
) -> None:
    with pytest.raises(cn.InsecureParametersError, match="^cn_model_compile: "):
        model.manifest(cn.INSECURE_TEST_PARAMS)
    with pytest.raises(cn.InsecureParametersError, match="^cn_manifest_deserialize: "):
        cn.Manifest.from_bytes(insecure_manifest.to_bytes())
    # A server follows the manifest the keys were made for: insecure only because
    # the client opted in.
    with cn.Server(model, pair[0].evaluation_keys()) as server:
        assert server.manifest.insecure
    with pytest.raises(cn.InvalidArgumentError, match="NoSuchParams"):
        model.manifest("NoSuchParams")
    round_trip(*pair, mnist)


def test_wrong_input_shape(pair: Any, mnist: Mnist) -> None:
    np = pytest.importorskip("numpy")
    client, server = pair
    x = mnist.numpy(4)
    for bad in (
        x[:, :700],
        x.reshape(4, 28, 28),
        np.zeros((4, 3, 28, 28)),
        x.reshape(-1),
        x[:0],
        [[0.5] * 10],
    ):
        with pytest.raises(cn.InvalidArgumentError) as err:
            client.encrypt(bad)
        assert isinstance(err.value, ValueError)
        assert "expected (n, 784) or (n, 1, 28, 28)" in str(err.value) or "no images" in str(
            err.value
        )
    # Objects of the wrong type.
    with pytest.raises(TypeError, match="result must be a cryptonets.EncryptedResult"):
        client.decrypt(b"bytes", b"request")
    with pytest.raises(TypeError, match="manifest must be a cryptonets.Manifest"):
        cn.EncryptedBatch.from_bytes(b"", server)
    round_trip(client, server, mnist)


def test_values_outside_input_range(pair: Any, mnist: Mnist) -> None:
    client, server = pair
    for bad in (1.5, -0.25, math.nan, math.inf):
        rows = mnist.rows(3)
        rows[2][100] = bad
        with pytest.raises(cn.InvalidArgumentError) as err:
            client.encrypt(rows)
        msg = str(err.value)
        assert msg.startswith("cn_client_encrypt: record 2: pixel (x 16, y 3) is ")
        assert "outside the model's input range [0, 1]" in msg
    round_trip(client, server, mnist)


def test_use_after_close(model_path: Any, insecure_manifest: Any, mnist: Mnist) -> None:
    m = cn.Model.load(model_path)
    m.close()
    m.close()  # idempotent
    assert m.closed
    with pytest.raises(cn.ClosedError, match="Model is closed"):
        m.manifest()
    with cn.Client(insecure_manifest) as client:
        keys = client.evaluation_keys()
    with pytest.raises(cn.ClosedError):
        client.encrypt(mnist.rows(1))
    with pytest.raises(cn.ClosedError):
        client.export_secret_key()
    with pytest.raises(cn.ClosedError):
        _ = client.manifest
    assert "closed" in repr(client)
    with keys:
        pass
    with pytest.raises(cn.ClosedError):
        keys.to_bytes()
    with pytest.raises(cn.ClosedError):
        with keys:
            pass
    # The process goes on.
    with cn.Model.load(model_path) as m2, m2.manifest_insecure_for_testing() as man:
        with cn.Client(man) as c, cn.Server(m2, c.evaluation_keys()) as s:
            round_trip(c, s, mnist, 8)


def test_predict_leaves_the_batch(pair: Any, mnist: Mnist) -> None:
    client, server = pair
    batch = client.encrypt(mnist.rows(2))
    assert batch.images == len(batch) == 2 and batch.requests == 1
    before = batch.to_bytes()
    server.predict(batch).close()
    assert batch.to_bytes() == before and batch.images == 2
    with server.predict(batch) as again:  # predicted twice: the same labels
        assert [int(v) for v in client.decrypt_labels(again, batch)] == mnist.reference[:2]
    batch.close()
    round_trip(client, server, mnist)


def test_model_file_errors(tmp_path: Any, model: Any, pair: Any, mnist: Mnist) -> None:
    missing = tmp_path / "missing.cnm"
    with pytest.raises(cn.CryptonetsIOError) as err:
        cn.Model.load(missing)
    assert isinstance(err.value, OSError)
    assert str(err.value).startswith("cn_model_load: ") and "missing.cnm" in str(err.value)
    junk = tmp_path / "junk.cnm"
    junk.write_bytes(b"not a model" * 10)
    with pytest.raises(cn.MalformedError, match="^cn_model_load: "):
        cn.Model.load(junk)
    with pytest.raises(cn.MalformedError, match="^cn_model_deserialize: "):
        cn.Model.from_bytes(model.to_bytes()[:-10])
    with cn.Model.from_bytes(model.to_bytes()) as copy, copy.manifest_insecure_for_testing() as man:
        assert man.to_bytes() == pair[1].manifest.to_bytes()
    round_trip(*pair, mnist)


def test_panic_becomes_internal_error(pair: Any, mnist: Mnist) -> None:
    if not hasattr(_ffi.lib, "cn_debug_force_panic"):
        if os.environ.get("CRYPTONETS_EXPECT_TESTING_LIBRARY"):
            pytest.fail(f"{_ffi.library_path()} is not the test build (CMake CN_TESTING=ON)")
        pytest.skip("not a test build of the library (CMake CN_TESTING=ON); run_tests.sh runs it with one")
    with pytest.raises(cn.InternalError, match="^cn_debug_force_panic: internal error"):
        cn.check(_ffi.lib.cn_debug_force_panic())
    round_trip(*pair, mnist)


def test_error_hierarchy() -> None:
    classes = [
        (cn.InvalidArgumentError, -1),
        (cn.MalformedError, -2),
        (cn.MismatchError, -3),
        (cn.InsecureParametersError, -4),
        (cn.CryptonetsIOError, -5),
        (cn.BufferTooSmallError, -6),
        (cn.InternalError, -7),
        (cn.IntegrityError, -8),
        (cn.LimitError, -9),
        (cn.UnsupportedError, -10),
    ]
    for cls, code in classes:
        assert issubclass(cls, cn.CryptonetsError) and cls.code == code
    assert issubclass(cn.ClosedError, cn.CryptonetsError)
    cn.check(0)
    with pytest.raises(cn.CryptonetsError, match="unknown status -99"):
        cn.check(-99)


# ---- hostile bytes (issue 12): the right exception, and the next call works ------

HOSTILE = REPO / "models" / "fixtures" / "hostile"


def test_hostile_secret_keys(pair: Any, mnist: Mnist, insecure_manifest: Any) -> None:
    """Hole 1: Lattigo's encoding of a key with a row length of 0x80000 or a limb count
    of 2^40 took the process down (signal 6); random mutations of a real key are a
    valid key or MalformedError."""
    client, server = pair
    for name in ("secret_key_row_length.bin", "secret_key_limb_count.bin"):
        with pytest.raises(cn.MalformedError, match="^cn_client_restore: .*secret key"):
            cn.Client.restore(insecure_manifest, (HOSTILE / name).read_bytes())
    key = client.export_secret_key()
    rng = random.Random(3)
    outcomes: Dict[str, int] = {"valid": 0, "malformed": 0}
    for _ in range(100):
        mutated = bytearray(key)
        for _ in range(rng.randint(1, 8)):
            mutated[rng.randrange(64, len(mutated))] = rng.randrange(256)
        try:
            cn.Client.restore(insecure_manifest, bytes(mutated)).close()
            outcomes["valid"] += 1
        except cn.MalformedError:
            outcomes["malformed"] += 1
    assert outcomes["malformed"] > 0 and sum(outcomes.values()) == 100
    round_trip(client, server, mnist)


def test_decoded_batch_keeps_nothing_of_the_callers_buffer(pair: Any, mnist: Mnist) -> None:
    """Hole 3: the batch decoder kept a pointer into the caller's buffer (a writable
    buffer is passed to the library without a copy): overwriting or freeing it
    afterwards changed the batch."""
    client, server = pair
    with client.encrypt(mnist.numpy(2)) as batch:
        data = batch.to_bytes()
    buf = bytearray(data)
    decoded = cn.EncryptedBatch.from_bytes(buf, server.manifest)
    buf[:] = b"\xa5" * len(buf)
    del buf
    gc.collect()
    assert decoded.to_bytes() == data
    with server.predict(decoded) as result:
        assert [int(v) for v in client.decrypt_labels(result, decoded)] == mnist.reference[:2]
    decoded.close()


def patch_first_galois_element(manifest_bytes: bytes, value: int) -> bytes:
    """The manifest with its first Galois element set to value (< 24), resealed: the
    envelope's length and plan fingerprint (the SHA-256 of the payload) made to match,
    as a hostile server would."""
    header, payload = manifest_bytes[:64], manifest_bytes[64:]
    key = payload.index(b"galois_elements") + len(b"galois_elements")
    head = payload[key]
    assert head >> 5 == 4, "an array of Galois elements"  # major type 4
    at = key + (1 if head & 0x1F < 24 else 1 + (1 << ((head & 0x1F) - 24)))
    first = payload[at]
    width = 1 if first < 24 else 1 + (1 << (first - 24))
    patched = payload[:at] + bytes([value]) + payload[at + width :]
    header = (
        header[:24] + hashlib.sha256(patched).digest() + struct.pack("<Q", len(patched))
    )
    return header + patched


def test_hostile_manifests(pair: Any, mnist: Mnist, model: Any, insecure_manifest: Any) -> None:
    """Hole 4: Galois element 3 crashed key generation; a manifest may ask for
    gigabytes of keys: the client's limit (max_eval_key_bytes) refuses it before any
    key is made."""
    client, server = pair
    with model.manifest_insecure_for_testing("InsecureN12QP215S", packing="single") as single:
        data = single.to_bytes()
        with pytest.raises(cn.MalformedError, match="^cn_manifest_deserialize: .*not a rotation"):
            cn.Manifest.from_bytes_insecure_for_testing(patch_first_galois_element(data, 3))
        with pytest.raises(cn.LimitError, match="^cn_client_new: .*limit"):
            cn.Client(single, max_eval_key_bytes=1 << 20)
        with cn.Client(single, max_eval_key_bytes=1 << 30) as ok:
            assert ok.manifest.packing == "single"
    with pytest.raises(cn.LimitError, match="^cn_client_restore: "):
        cn.Client.restore(insecure_manifest, client.export_secret_key(), max_eval_key_bytes=16)
    with pytest.raises(ValueError, match="max_eval_key_bytes"):
        cn.Client(insecure_manifest, max_eval_key_bytes=-1)
    round_trip(client, server, mnist)


def test_results_answer_their_request(pair: Any, mnist: Mnist, insecure_manifest: Any) -> None:
    """Hole 5: the result of request 1 was accepted as the answer to request 2, and a
    result relabelled from 2 images to 1 (or 7) gave that many rows."""
    client, server = pair
    b1, b2 = client.encrypt(mnist.numpy(2)), client.encrypt(mnist.numpy(3)[1:])
    r1, r2 = server.predict(b1), server.predict(b2)
    assert len(b1.request_ids) == 32 and b1.request_ids != b2.request_ids
    with pytest.raises(cn.MismatchError, match="^cn_client_decrypt: .*another request"):
        client.decrypt(r1, b2)
    relabelled = bytearray(r1.to_bytes())
    relabelled[64] = 1  # the payload's image count
    with cn.EncryptedResult.from_bytes(relabelled, insecure_manifest) as bad:
        with pytest.raises(cn.IntegrityError, match="^cn_client_decrypt: "):
            client.decrypt(bad, b1)
    replayed = bytearray(r1.to_bytes())
    replayed[80:112] = b2.request_ids  # request 1's result relabelled as request 2's
    with cn.EncryptedResult.from_bytes(replayed, insecure_manifest) as bad:
        with pytest.raises(cn.IntegrityError, match="check values"):
            client.decrypt(bad, b2)
    with pytest.raises(ValueError, match="32 per request"):
        client.decrypt(r1, b"short")
    assert [int(v) for v in client.decrypt_labels(r1, b1.request_ids)] == mnist.reference[:2]
    assert [int(v) for v in client.decrypt_labels(r2, b2)] == mnist.reference[1:3]
    for obj in (r1, r2, b1, b2):
        obj.close()
    round_trip(client, server, mnist)


def test_costly_and_inflated_files(pair: Any, mnist: Mnist, insecure_manifest: Any) -> None:
    """Holes 6 and 7: a 292-byte model file and a 156-byte ONNX file whose pooling
    lowers to 48 million terms; ten bytes of CBOR declaring arrays of 2^29 items."""
    client, server = pair
    with pytest.raises(cn.LimitError, match="^cn_model_deserialize: "):
        cn.Model.from_bytes((HOSTILE / "sumpool_96.cnm").read_bytes())
    with pytest.raises(cn.LimitError, match="^cn_model_from_onnx: "):
        cn.convert(HOSTILE / "averagepool_96.onnx")
    with pytest.raises(cn.MalformedError, match="^cn_model_deserialize: "):
        cn.Model.from_bytes((HOSTILE / "cbor_nested_arrays.cnm").read_bytes())
    with pytest.raises(cn.MalformedError, match="^cn_manifest_deserialize: "):
        cn.Manifest.from_bytes_insecure_for_testing(
            (HOSTILE / "cbor_nested_arrays_manifest.bin").read_bytes()
        )
    round_trip(client, server, mnist)


def test_another_clients_evaluation_keys(model: Any, mnist: Mnist) -> None:
    """Hole 2: with single-image packing, a server holding another client's evaluation
    keys gave wrong labels without an error."""
    with model.manifest_insecure_for_testing("InsecureN12QP215S", packing="single") as manifest:
        with cn.Client(manifest) as alice, cn.Client(manifest) as mallory:
            with cn.Server(model, mallory.evaluation_keys()) as wrong:
                with alice.encrypt(mnist.rows(1)) as batch, wrong.predict(batch) as result:
                    with pytest.raises(cn.IntegrityError, match="check values"):
                        alice.decrypt(result, batch)
            with cn.Server(model, alice.evaluation_keys()) as right:
                with alice.encrypt(mnist.rows(1)) as batch, right.predict(batch) as result:
                    assert [int(v) for v in alice.decrypt_labels(result, batch)] == mnist.reference[:1]
