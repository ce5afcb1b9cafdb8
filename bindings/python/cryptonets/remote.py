"""The client of ``cryptonets serve``: encrypted inference on a remote server.

::

    import cryptonets as cn

    svc = cn.remote.connect("http://localhost:8080", token="...")
    labels = svc.predict("mnist", images)            # (n, 784) or (n, 1, 28, 28), in [0, 1]
    probs = svc.predict("mnist", images, output="probabilities")

:meth:`Service.predict` fetches the model's public manifest, makes a secret key and
the evaluation keys (or reuses them: from this connection, or from ``keys_dir``),
uploads the keys once if the plan needs any, splits the inputs into requests of the
plan's size, keeps ``in_flight`` requests in flight, retries a request the server
was too busy for (HTTP 503, 429) or whose connection dropped, with backoff (a
prediction is idempotent), shows progress on long runs, and decrypts the results in
input order. The secret key never leaves this process.

Errors the server reports raise the library's exceptions (:class:`MalformedError`,
:class:`MismatchError`, :class:`LimitError`, ...) with the HTTP status in
``http_status``. The HTTP API is described in ``docs/service.md``.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import math
import os
import random
import ssl
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Union

from . import _arrays
from ._api import Client, Manifest
from .errors import _BY_CODE, CryptonetsError, CryptonetsIOError, InvalidArgumentError

__all__ = ["connect", "Service", "Session"]

#: How long a request may take before the connection is given up (seconds).
DEFAULT_TIMEOUT = 900.0

#: HTTP statuses worth sending the same request again for, later.
RETRYABLE = (429, 502, 503, 504)

#: Errors of a connection that dropped or could not be made: the request is retried.
DROPPED = (ConnectionError, http.client.RemoteDisconnected, http.client.IncompleteRead, TimeoutError)

#: The wire envelope's header: magic (4), version (2), kind (2), parameters (16),
#: plan fingerprint (32), payload length (8).
_PLAN_FINGERPRINT = slice(24, 56)

Progress = Union[None, bool, Callable[[int, int], None]]


def connect(
    url: str,
    token: Optional[str] = None,
    *,
    in_flight: int = 2,
    attempts: int = 6,
    backoff: float = 0.25,
    keys_dir: Optional[Union[str, "os.PathLike[str]"]] = None,
    timeout: float = DEFAULT_TIMEOUT,
    ssl_context: Optional[ssl.SSLContext] = None,
    progress: Progress = None,
    allow_insecure_for_testing: bool = False,
) -> "Service":
    """A connection to the server at ``url`` (``http://`` or ``https://``).

    ``token``: the bearer token, if the server takes tokens (default: the
    ``CRYPTONETS_TOKEN`` environment variable). ``in_flight``: requests kept in
    flight. ``attempts``: the most tries of one request; ``backoff``: the first wait
    before a retry, in seconds, doubled each time (with jitter), or the server's
    ``Retry-After`` if longer. ``keys_dir``: keep each plan's secret key and
    evaluation keys in files there (mode 0600), reused by later runs (and by
    ``cryptonets remote predict --keys-dir``). ``ssl_context``: for ``https://``
    (a client certificate for mutual TLS goes in it). ``progress``: ``True`` prints
    progress lines on stderr, ``False`` never, a callable gets ``(done, total)``
    inputs; by default lines are printed when stderr is a terminal.
    ``allow_insecure_for_testing`` accepts plans with INSECURE parameters (tests
    only). Nothing is sent until the first call.
    """
    return Service(
        url,
        token if token is not None else os.environ.get("CRYPTONETS_TOKEN"),
        in_flight=in_flight,
        attempts=attempts,
        backoff=backoff,
        keys_dir=keys_dir,
        timeout=timeout,
        ssl_context=ssl_context,
        progress=progress,
        allow_insecure=allow_insecure_for_testing,
    )


class _HTTP:
    """One keep-alive connection per thread to one server."""

    def __init__(self, url: str, timeout: float, ssl_context: Optional[ssl.SSLContext]) -> None:
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise InvalidArgumentError(f"{url!r} is not an http:// or https:// URL")
        self.scheme, self.host, self.port = u.scheme, u.hostname, u.port
        self.prefix = u.path.rstrip("/")
        self.timeout, self.ssl_context = timeout, ssl_context
        self._local = threading.local()

    def connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self.scheme == "https":
                conn = http.client.HTTPSConnection(
                    self.host, self.port, timeout=self.timeout, context=self.ssl_context
                )
            else:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.conn = conn
        return conn

    def drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class _Response:
    def __init__(self, status: int, headers: Dict[str, str], body: bytes) -> None:
        # Header names are case-insensitive (HAProxy, for one, sends them in lower
        # case): kept lower-cased.
        self.status, self.headers, self.body = status, headers, body


class Service:
    """A connection to a cryptonets server (see :func:`connect`). Safe to share
    between threads. ``retries`` counts the requests sent again."""

    def __init__(
        self,
        url: str,
        token: Optional[str],
        *,
        in_flight: int,
        attempts: int,
        backoff: float,
        keys_dir: Optional[Union[str, "os.PathLike[str]"]],
        timeout: float,
        ssl_context: Optional[ssl.SSLContext],
        progress: Progress,
        allow_insecure: bool,
    ) -> None:
        if in_flight < 1 or attempts < 1 or backoff < 0:
            raise InvalidArgumentError("in_flight and attempts must be >= 1, backoff >= 0")
        self.url = url
        self._http = _HTTP(url, timeout, ssl_context)
        self._token = token
        self._in_flight, self._attempts, self._backoff = in_flight, attempts, backoff
        self._keys_dir = Path(keys_dir) if keys_dir is not None else None
        self._progress = progress
        self._allow_insecure = allow_insecure
        self._lock = threading.Lock()
        self._sessions: Dict[str, "Session"] = {}
        self.retries = 0

    # ------------------------------------------------------------------ HTTP --

    def _request(
        self,
        method: str,
        path: str,
        query: Optional[Dict[str, str]] = None,
        body: Optional[bytes] = None,
        headers: Optional[Dict[str, str]] = None,
    ) -> _Response:
        """Send a request and return its 2xx response; retry a busy server or a
        dropped connection; raise the server's error otherwise."""
        target = self._http.prefix + path
        if query:
            target += "?" + urllib.parse.urlencode(query)
        hdrs = dict(headers or {})
        if self._token:
            hdrs["Authorization"] = f"Bearer {self._token}"
        if body is not None:
            hdrs["Content-Type"] = "application/vnd.cryptonets"
        wait = self._backoff
        for attempt in range(1, self._attempts + 1):
            after = 0.0
            try:
                conn = self._http.connection()
                conn.request(method, target, body=body, headers=hdrs)
                resp = conn.getresponse()
                data = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self._http.drop()
                if 200 <= resp.status < 300:
                    return _Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
                error = _server_error(resp.status, data, method, path)
                if resp.status not in RETRYABLE:
                    raise error
                try:
                    after = float(resp.getheader("Retry-After") or 0)
                except ValueError:
                    after = 0.0
            except DROPPED as e:
                self._http.drop()
                error = CryptonetsIOError(f"{method} {path}: the connection dropped: {e}")
            except (http.client.HTTPException, OSError) as e:
                self._http.drop()
                raise CryptonetsIOError(f"{method} {path}: {e}") from e
            if attempt == self._attempts:
                error.message = f"{error.message} (gave up after {attempt} attempts)"
                error.args = (error.message,)
                raise error
            with self._lock:
                self.retries += 1
            time.sleep(max(after, wait / 2 + random.random() * wait))
            wait *= 2
        raise AssertionError("unreachable")

    def _json(self, path: str) -> Any:
        return json.loads(self._request("GET", path).body)

    # ------------------------------------------------------------ resources --

    def models(self) -> List[Dict[str, Any]]:
        """The served models: name, input shape and range, outputs, and the default
        plan of each packing (``GET /v1/models``)."""
        return list(self._json("/v1/models")["models"])

    def model(self, name: str) -> Dict[str, Any]:
        """One served model (``GET /v1/models/{name}``)."""
        return dict(self._json(f"/v1/models/{urllib.parse.quote(name, safe='')}"))

    def manifest(
        self,
        model: str,
        packing: Optional[str] = None,
        expect: Optional[int] = None,
        params: Optional[str] = None,
    ) -> Manifest:
        """The public manifest of a model's plan: ``packing`` ``"batch"``,
        ``"single"`` or ``"auto"`` (the server's choice for ``expect`` inputs at a
        time), ``params`` a parameter set (default: the server's)."""
        data, _ = self._manifest_bytes(model, _plan_query(packing, expect, params))
        if self._allow_insecure:
            return Manifest.from_bytes_insecure_for_testing(data)
        return Manifest.from_bytes(data)

    def _manifest_bytes(self, model: str, query: Dict[str, str]) -> "tuple[bytes, bool]":
        """The sealed manifest of a plan, and whether the plan needs evaluation keys."""
        path = f"/v1/models/{urllib.parse.quote(model, safe='')}/manifest"
        resp = self._request("GET", path, query)
        return resp.body, resp.headers.get("cryptonets-needs-keys") == "true"

    def session(
        self,
        model: str,
        packing: Optional[str] = None,
        expect: Optional[int] = None,
        params: Optional[str] = None,
    ) -> "Session":
        """The session of a model's plan (see :meth:`manifest`): a secret key and
        evaluation keys for it, the keys on the server. The same plan gets the same
        session."""
        query = _plan_query(packing, expect, params)
        data, needs_keys = self._manifest_bytes(model, query)
        fingerprint = data[_PLAN_FINGERPRINT].hex()
        with self._lock:
            found = self._sessions.get(f"{model}/{fingerprint}")
        if found is not None:
            return found
        if self._allow_insecure:
            manifest = Manifest.from_bytes_insecure_for_testing(data)
        else:
            manifest = Manifest.from_bytes(data)
        client, keys = self._keys_for(manifest, fingerprint)
        key_id = self._ensure_keys(keys) if needs_keys else None
        session = Session(self, model, manifest, client, query, key_id)
        with self._lock:
            return self._sessions.setdefault(f"{model}/{fingerprint}", session)

    def _keys_for(self, manifest: Manifest, fingerprint: str) -> "tuple[Client, bytes]":
        """A client for the manifest and its sealed evaluation keys: made now, or
        read from keys_dir (where new ones are saved)."""
        sk_path = evk_path = None
        if self._keys_dir is not None:
            sk_path = self._keys_dir / f"{fingerprint}.secret-key"
            evk_path = self._keys_dir / f"{fingerprint}.eval-keys"
            if sk_path.is_file() and evk_path.is_file():
                return Client.restore(manifest, sk_path.read_bytes()), evk_path.read_bytes()
        client = Client(manifest)
        with client.evaluation_keys() as keys:
            evk = keys.to_bytes()
        if sk_path is not None and evk_path is not None:
            self._keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # type: ignore[union-attr]
            _write_private(sk_path, client.export_secret_key())
            _write_private(evk_path, evk)
        return client, evk

    def _ensure_keys(self, evk: bytes) -> str:
        """Upload sealed evaluation keys unless the server has them; their id."""
        key_id = hashlib.sha256(evk).hexdigest()
        try:
            self._request("HEAD", f"/v1/keys/{key_id}")
            return key_id
        except CryptonetsError as e:
            if getattr(e, "http_status", None) != 404:
                raise
        answer = json.loads(self._request("PUT", "/v1/keys", body=evk).body)
        if answer.get("id") != key_id:
            raise CryptonetsError(f"the server stored the keys as {answer.get('id')}, their digest is {key_id}")
        return key_id

    def predict(
        self,
        model: str,
        images: Any,
        *,
        packing: Optional[str] = None,
        expect: Optional[int] = None,
        params: Optional[str] = None,
        output: str = "labels",
    ) -> Any:
        """Predict ``images`` (any number, shaped as the model's input, in its input
        range) with ``model`` on the server, and return in input order the
        ``"labels"`` (default), ``"logits"`` or ``"probabilities"`` (softmax of the
        logits, computed here). Without ``expect``, the plan is chosen for the number
        of images. numpy arrays in and out (lists without numpy)."""
        n = _count(images)
        session = self.session(model, packing, expect if expect is not None else n, params)
        return session.predict(images, output=output)

    def close(self) -> None:
        """Close the connection of this thread and the sessions' clients."""
        self._http.drop()
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for s in sessions:
            s.close()

    def __enter__(self) -> "Service":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Session:
    """A secret key for one plan of a model, whose evaluation keys the server has
    (see :meth:`Service.session`). Safe to share between threads."""

    def __init__(
        self,
        service: Service,
        model: str,
        manifest: Manifest,
        client: Client,
        query: Dict[str, str],
        key_id: Optional[str],
    ) -> None:
        self._svc, self.model, self.manifest = service, model, manifest
        self._client, self._query, self.key_id = client, query, key_id

    def predict(self, images: Any, output: str = "labels") -> Any:
        """As :meth:`Service.predict`, with this session's plan."""
        if output not in ("labels", "logits", "probabilities"):
            raise InvalidArgumentError(f"output={output!r}: want 'labels', 'logits' or 'probabilities'")
        rows = _rows(images, self.manifest.input_size)
        n = len(rows)
        if n == 0:
            raise InvalidArgumentError("no images to predict")
        per = self.manifest.images_per_batch
        chunks = [(lo, min(lo + per, n)) for lo in range(0, n, per)]
        report = _progress_reporter(self._svc._progress, len(chunks), n)
        done = [0]
        lock = threading.Lock()

        def one(chunk: "tuple[int, int]") -> Any:
            logits = self._predict_one(rows[chunk[0] : chunk[1]])
            with lock:
                done[0] += chunk[1] - chunk[0]
                report(done[0])
            return logits

        with ThreadPoolExecutor(max_workers=min(self._svc._in_flight, len(chunks))) as pool:
            parts = list(pool.map(one, chunks))
        return _output(parts, output)

    def _predict_one(self, rows: Any) -> Any:
        with self._client.encrypt(rows) as batch:
            body = batch.to_bytes()
            request = batch.request_ids
        headers: Dict[str, str] = {}
        query: Optional[Dict[str, str]] = self._query
        if self.key_id is not None:
            headers["Cryptonets-Key-Id"] = self.key_id
            query = None
        path = f"/v1/models/{urllib.parse.quote(self.model, safe='')}/predict"
        data = self._svc._request("POST", path, query, body, headers).body
        from ._api import EncryptedResult

        with EncryptedResult.from_bytes(data, self.manifest) as result:
            return self._client.decrypt(result, request)

    def close(self) -> None:
        """Close the session's client and manifest."""
        self._client.close()
        self.manifest.close()


# ----------------------------------------------------------------- helpers --


def _plan_query(packing: Optional[str], expect: Optional[int], params: Optional[str]) -> Dict[str, str]:
    q: Dict[str, str] = {}
    if packing:
        q["packing"] = packing
    if expect:
        if not isinstance(expect, int) or isinstance(expect, bool) or expect < 0:
            raise InvalidArgumentError(f"expect={expect!r}: want a number of images")
        q["expect"] = str(expect)
    if params:
        q["params"] = params
    return q


def _server_error(status: int, body: bytes, method: str, path: str) -> CryptonetsError:
    """The exception for an error response (its JSON error body, if any)."""
    try:
        detail = json.loads(body)["error"]
        code, message = int(detail["code"]), str(detail["message"])
    except (ValueError, KeyError, TypeError):
        code, message = 0, body[:200].decode("utf-8", "replace").strip() or http.client.responses.get(status, "")
    cls = _BY_CODE.get(-code, CryptonetsError)
    err = cls(f"server: {method} {path}: HTTP {status}: {message}", -code if code else None)
    err.http_status = status  # type: ignore[attr-defined]
    return err


def _write_private(path: Path, data: bytes) -> None:
    """Write a file readable by the user only, renamed into place."""
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _count(images: Any) -> int:
    try:
        return len(images)
    except TypeError:
        raise InvalidArgumentError(f"images must be a sequence or an array, got {type(images).__name__}")


def _rows(images: Any, size: int) -> Any:
    """The images as one row each: a numpy array (n, size) or a list of rows."""
    if _arrays.have_numpy():
        import numpy as np

        arr = np.asarray(images, dtype=np.float64)
        if arr.ndim < 1 or arr.size % size or (arr.ndim > 1 and arr[0].size != size):
            raise InvalidArgumentError(f"images of shape {arr.shape}: each image must have {size} values")
        return arr.reshape(-1, size)
    rows = [list(_flatten(img)) for img in images]
    for i, r in enumerate(rows):
        if len(r) != size:
            raise InvalidArgumentError(f"image {i} has {len(r)} values, want {size}")
    return rows


def _flatten(x: Any) -> Any:
    for v in x:
        if isinstance(v, (list, tuple)):
            yield from _flatten(v)
        else:
            yield float(v)


def _output(parts: List[Any], output: str) -> Any:
    """Join the logits of the requests and turn them into the output asked for."""
    if _arrays.have_numpy():
        import numpy as np

        logits = np.concatenate([np.asarray(p, dtype=np.float64) for p in parts])
        if output == "logits":
            return logits
        if output == "labels":
            return logits.argmax(axis=1)
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)
    rows = [list(r) for p in parts for r in p]
    if output == "logits":
        return rows
    if output == "labels":
        return [max(range(len(r)), key=r.__getitem__) for r in rows]
    out = []
    for r in rows:
        m = max(r)
        z = [math.exp(v - m) for v in r]
        s = sum(z)
        out.append([v / s for v in z])
    return out


def _progress_reporter(progress: Progress, requests: int, total: int) -> Callable[[int], None]:
    """What to call with the number of inputs done."""
    if callable(progress):
        return lambda done: progress(done, total)  # type: ignore[misc]
    show = progress if progress is not None else (requests > 1 and sys.stderr.isatty())
    if not show:
        return lambda done: None
    start = time.monotonic()
    last = [0.0]

    def report(done: int) -> None:
        now = time.monotonic()
        if done == total or now - last[0] >= 1.0:
            last[0] = now
            print(f"cryptonets: {done}/{total} inputs ({now - start:.1f}s)", file=sys.stderr, flush=True)

    return report
