"""Every accepted form of input gives the same labels; outputs have the promised
types."""

from __future__ import annotations

import ctypes
import threading
from array import array
from typing import Any, Iterator, List

import pytest

import cryptonets as cn
from cryptonets import _arrays
from conftest import Mnist

N = 8


@pytest.fixture(scope="module")
def pair(model: Any, insecure_manifest: Any) -> Iterator[Any]:
    with (
        cn.Client(insecure_manifest) as client,
        cn.Server(model, client.evaluation_keys()) as server,
    ):
        yield client, server


def labels_of(client: Any, server: Any, images: Any) -> List[int]:
    with client.encrypt(images) as batch, server.predict(batch) as result:
        return [int(v) for v in client.decrypt_labels(result, batch)]


def as_bytes(images: Any) -> bytes:
    """What the library would read: the converted float64 buffer."""
    px = _arrays.pixels(images, (1, 28, 28))
    return ctypes.string_at(px.pointer, px.n * 784 * 8)


def test_numpy_forms(pair: Any, mnist: Mnist) -> None:
    np = pytest.importorskip("numpy")
    x = mnist.numpy(N)
    want = x.tobytes()
    forms = {
        "float64 (n, 784)": x,
        "float64 (n, 1, 28, 28)": x.reshape(N, 1, 28, 28),
        "float32": x.astype(np.float32),
        "non-contiguous": np.asfortranarray(x),
        "strided": np.repeat(x, 2, axis=0)[::2],
        "list of lists": x.tolist(),
        "tuple of arrays": tuple(x),
        "nested (n, 1, 28, 28) lists": x.reshape(N, 1, 28, 28).tolist(),
        "memoryview": memoryview(x),
        "memoryview (n, 1, 28, 28)": memoryview(x.reshape(N, 1, 28, 28)),
        "array('d')": array("d", x.tobytes()),
        "bytes": x.tobytes(),
        "bytearray": bytearray(x.tobytes()),
    }
    for name, images in forms.items():
        got = as_bytes(images)
        if name == "float32":
            assert got == x.astype(np.float32).astype(np.float64).tobytes(), name
        else:
            assert got == want, name
    # A numpy float64 array crosses as one pointer to its own memory: no copy.
    px = _arrays.pixels(x, (1, 28, 28))
    assert ctypes.addressof(px.pointer.contents) == x.ctypes.data
    # Real encryptions of two forms.
    assert labels_of(*pair, x.reshape(N, 1, 28, 28)) == mnist.reference[:N]
    assert labels_of(*pair, x.astype(np.float32).tolist()) == mnist.reference[:N]


def test_decrypt_gives_numpy(pair: Any, mnist: Mnist) -> None:
    np = pytest.importorskip("numpy")
    client, server = pair
    with client.encrypt(mnist.numpy(3)) as batch, server.predict(batch) as result:
        assert result.images == 3
        logits = client.decrypt(result, batch)
        assert isinstance(logits, np.ndarray) and logits.shape == (3, 10)
        assert logits.dtype == np.float64 and logits.flags.c_contiguous
        assert list(client.decrypt_labels(result, batch)) == list(logits.argmax(axis=1))


def test_threads_share_a_server(pair: Any, mnist: Mnist) -> None:
    """ctypes releases the GIL: two threads encrypt and predict at once."""
    client, server = pair
    results: List[Any] = [None, None]

    def work(i: int) -> None:
        results[i] = labels_of(client, server, mnist.rows(4))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [mnist.reference[:4]] * 2
