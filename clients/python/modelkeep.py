"""A Python client for Modelkeep, the self-hosted model registry.

Standard library only (Python 3.9+): install it with ``pip install
./clients/python`` or copy this one file next to your code.

Training jobs create a model and a version, push a directory (large files as
resumable uploads whose parts go in parallel, each with its SHA-256), log
metrics, register the datasets and the run, finalize, and ask for a stage
transition. Deploy pipelines pull the version in a stage or behind an alias
into a directory, with the SHA-256 of every file and the version's manifest
digest checked before the directory appears (atomically), and record the
deployment::

    import modelkeep

    mk = modelkeep.Client("https://models.example.com", token="...")
    mk.create_model("fraud-detector", exist_ok=True)
    v = mk.create_version("fraud-detector", params={"lr": 0.05}, run_id="run-42")
    mk.push("fraud-detector", v["version"], "out/model")
    mk.log_metrics("fraud-detector", v["version"], {"auc": 0.93}, dataset="holdout")
    mk.finalize("fraud-detector", v["version"])
    mk.request_transition("fraud-detector", v["version"], "production")

    pulled = mk.pull("fraud-detector", "/srv/models/fraud", stage="production")

Every call raises an :class:`APIError` subclass for the server's error
answers (``NotFound``, ``Conflict``, ``PreconditionFailed`` with
``failed_gates``, ...), :class:`VerificationError` when bytes do not match
their SHA-256 or a manifest its digest, and :class:`TransportError` when the
server cannot be reached after the retries. Requests the server refused
because it was busy or a backing service was down (429, 503) are retried with
exponential backoff, honouring ``Retry-After``; so are connection failures of
requests that are safe to repeat.

The HTTP contract is the server's ``openapi.yaml``; resumable uploads are
specified in ``docs/uploads.md``.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime
import email.utils
import hashlib
import http.client
import json
import os
import random
import re
import secrets
import shutil
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import (
    IO,
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypedDict,
    Union,
)

__version__ = "0.1.0"

__all__ = [
    "Client",
    "PushResult",
    "PullResult",
    "TransferEvent",
    "manifest_digest",
    "sha256_file",
    "ModelkeepError",
    "APIError",
    "BadRequest",
    "Unauthenticated",
    "Forbidden",
    "NotFound",
    "Conflict",
    "PreconditionFailed",
    "TooLarge",
    "RangeNotSatisfiable",
    "DigestMismatch",
    "TooManyRequests",
    "Unavailable",
    "ServerError",
    "TransportError",
    "VerificationError",
    "PushIncomplete",
]

DEFAULT_URL = "http://127.0.0.1:8080"
USER_AGENT = "modelkeep-python/" + __version__
MiB = 1 << 20

_BLOCK = MiB  # read and write size of file and body copies


# ---------------------------------------------------------------------------
# Shapes of the server's JSON (openapi.yaml, components/schemas)
# ---------------------------------------------------------------------------


class File(TypedDict):
    """A file of a version: ``path`` (``/``-separated), ``size`` in bytes, hex ``sha256``."""

    path: str
    size: int
    sha256: str


class FileList(TypedDict, total=False):
    """A version's files, ordered by path; ``manifest_digest`` once the version is ready."""

    files: List[File]
    manifest_digest: str


class GateResult(TypedDict):
    """One promotion gate evaluated for an approval."""

    gate: str
    passed: bool
    detail: str


class Model(TypedDict, total=False):
    """A model (schema ``Model``)."""

    name: str
    description: str
    tags: Dict[str, str]
    latest_version: int
    production_version: int
    created_by: str
    created_at: str
    updated_at: str


class Version(TypedDict, total=False):
    """A version (schema ``Version``); ``status`` is ``pending`` or ``ready``."""

    model: str
    version: int
    description: str
    tags: Dict[str, str]
    params: Dict[str, str]
    source: Dict[str, str]
    datasets: List[Dict[str, str]]
    parent: Dict[str, Any]
    status: str
    stage: str
    aliases: List[str]
    manifest_digest: str
    created_by: str
    created_at: str
    updated_at: str
    finalized_at: str


class StagedVersion(Version, total=False):
    """The version in a stage, with its files (schema ``StagedVersion``)."""

    files: List[File]


class UploadPart(TypedDict, total=False):
    """A part an upload session received: ``sha256`` when the server hashed
    it (parts sent through it, as this client sends them), else ``crc32c``
    as the blob store keeps it (a part another client sent straight to S3)."""

    number: int
    size: int
    sha256: str
    crc32c: str


class Upload(TypedDict, total=False):
    """A resumable upload session (schema ``Upload``, docs/uploads.md)."""

    id: str
    model: str
    version: int
    path: str
    size: int
    sha256: str
    part_size: int
    part_count: int
    status: str
    presigned_parts: bool
    part_checksum: str
    created_by: str
    created_at: str
    updated_at: str
    expires_at: str
    parts: List[UploadPart]
    received_bytes: int


class Approval(TypedDict, total=False):
    """An approval of a transition."""

    approver: str
    comment: str
    at: str
    gates: List[GateResult]


class Transition(TypedDict, total=False):
    """A stage transition request (schema ``Transition``)."""

    id: str
    model: str
    version: int
    to: str
    status: str
    comment: str
    requested_by: str
    requested_at: str
    manifest_digest: str
    required_approvals: int
    approvals: List[Approval]
    decided_by: str
    decided_at: str
    decision_comment: str


class Alias(TypedDict, total=False):
    """An alias of a model and the version it points at."""

    model: str
    alias: str
    version: int
    previous_version: int
    updated_by: str
    updated_at: str


class Policy(TypedDict, total=False):
    """A model's promotion policy."""

    required_approvals: int
    required_tags: Dict[str, str]
    metric_gates: List[Dict[str, Any]]
    protected_aliases: List[str]
    require_evidence: bool
    updated_by: str
    updated_at: str


class Deployment(TypedDict, total=False):
    """An entry of the deployments ledger."""

    id: str
    model: str
    version: int
    environment: str
    strategy: str
    traffic_percent: int
    replaces: int
    deployed_by: str
    deployed_at: str
    ended_at: str


class Metric(TypedDict, total=False):
    """A recorded metric point."""

    key: str
    value: float
    step: int
    dataset: str
    split: str
    environment: str
    timestamp: str
    recorded_by: str
    run_id: str
    dataset_version: str


class Dataset(TypedDict, total=False):
    """A registered dataset version."""

    name: str
    version: str
    uri: str
    sha256: str
    size: int
    license: str
    description: str
    created_by: str
    created_at: str
    updated_at: str


class Run(TypedDict, total=False):
    """A registered run (training, evaluation, ...)."""

    run_id: str
    kind: str
    parameters: Dict[str, str]
    environment: Dict[str, Any]
    inputs: List[Dict[str, str]]
    started_at: str
    ended_at: str
    output_artifact_sha256: str
    created_by: str
    created_at: str
    updated_at: str


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


class ModelkeepError(Exception):
    """The base of every error this module raises on purpose."""


class APIError(ModelkeepError):
    """The server answered with an error (``{"error": {"code", "message"}}``).

    ``status`` is the HTTP status, ``code`` the error's code
    (``not_found``, ``conflict``, ...), ``message`` the server's message.
    A 412 from an approval carries ``failed_gates`` (the promotion gates that
    failed) or ``missing_requirements`` (evidence rows still missing).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        method: str = "",
        url: str = "",
        failed_gates: Optional[List[GateResult]] = None,
        missing_requirements: Optional[List[str]] = None,
        request_id: str = "",
        retry_after: Optional[float] = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.method = method
        self.url = url
        self.failed_gates: List[GateResult] = list(failed_gates or [])
        self.missing_requirements: List[str] = list(missing_requirements or [])
        self.request_id = request_id
        self.retry_after = retry_after
        super().__init__(str(self))

    def __str__(self) -> str:
        s = "%s %s: %d %s: %s" % (self.method, _redact(self.url), self.status, self.code, self.message)
        if self.failed_gates:
            s += "; failed gates: " + ", ".join("%s (%s)" % (g.get("gate"), g.get("detail")) for g in self.failed_gates)
        if self.missing_requirements:
            s += "; missing requirements: " + ", ".join(self.missing_requirements)
        return s


class BadRequest(APIError):
    """400 ``invalid_argument``: the request is malformed or breaks a rule."""


class Unauthenticated(APIError):
    """401: no valid token."""


class Forbidden(APIError):
    """403: the token's roles or model scope do not allow this (four eyes included)."""


class NotFound(APIError):
    """404: no such model, version, file, alias, ..."""


class Conflict(APIError):
    """409: conflicts with the current state (exists already, immutable, not ready, ...)."""


class PreconditionFailed(APIError):
    """412: a precondition does not hold (no files to finalize, failed gates, missing evidence)."""


class TooLarge(APIError):
    """413: over the server's upload or body limit."""


class RangeNotSatisfiable(APIError):
    """416: the requested byte range does not fit the file."""


class DigestMismatch(APIError):
    """422: the server found that the bytes sent do not match their SHA-256; nothing was kept."""


class TooManyRequests(APIError):
    """429: slow down (retried before it is raised)."""


class Unavailable(APIError):
    """503: the server is busy or a backing service is down (retried before it is raised)."""


class ServerError(APIError):
    """Another 5xx answer (an internal error of the server, a proxy's 502 or 504)."""


class TransportError(ModelkeepError):
    """The server could not be reached, or the connection broke, after the retries."""


class VerificationError(ModelkeepError):
    """Bytes or a manifest did not match what the registry recorded.

    ``path`` names the file ("" for a version's manifest), ``expected`` and
    ``actual`` the values compared (SHA-256, size or manifest digest).
    """

    def __init__(self, message: str, *, path: str = "", expected: Any = None, actual: Any = None) -> None:
        super().__init__(message)
        self.path = path
        self.expected = expected
        self.actual = actual


class PushIncomplete(ModelkeepError):
    """Some files of a push did not reach the version.

    ``failures`` maps each such path to its error. Upload sessions stay open
    on the server: calling :meth:`Client.push` again with the same directory
    sends only what is missing (the parts not received and the files not
    there yet).
    """

    def __init__(self, message: str, failures: Dict[str, BaseException], result: "PushResult") -> None:
        super().__init__(message)
        self.failures = failures
        self.result = result


_CODE_ERRORS: Dict[str, type] = {
    "invalid_argument": BadRequest,
    "unauthenticated": Unauthenticated,
    "forbidden": Forbidden,
    "csrf_failed": Forbidden,
    "not_found": NotFound,
    "conflict": Conflict,
    "precondition_failed": PreconditionFailed,
    "too_large": TooLarge,
    "range_not_satisfiable": RangeNotSatisfiable,
    "digest_mismatch": DigestMismatch,
    "unavailable": Unavailable,
}

_STATUS_ERRORS: Dict[int, type] = {
    400: BadRequest,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    413: TooLarge,
    416: RangeNotSatisfiable,
    422: DigestMismatch,
    429: TooManyRequests,
    503: Unavailable,
}


def _error_class(status: int, code: str) -> type:
    cls = _STATUS_ERRORS.get(status)
    if cls is None and status >= 500:
        cls = ServerError
    by_code = _CODE_ERRORS.get(code)
    # The status decides; the code refines it only where they agree on the
    # class (a 403 csrf_failed is a Forbidden all the same).
    if cls is None:
        cls = by_code or APIError
    return cls


def _redact(url: str) -> str:
    """The URL without its query (presigned URLs carry credentials there)."""
    return url.split("?", 1)[0]


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def sha256_file(path: Union[str, "os.PathLike[str]"]) -> str:
    """The hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(_BLOCK)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def _sha256_range(path: str, start: int, length: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        f.seek(start)
        left = length
        while left > 0:
            b = f.read(min(_BLOCK, left))
            if not b:
                raise ModelkeepError("%s: the file became shorter while it was pushed" % path)
            h.update(b)
            left -= len(b)
    return h.hexdigest()


def manifest_digest(files: Iterable[Mapping[str, Any]]) -> str:
    """A version's manifest digest, computed as the server does.

    ``"sha256:"`` + the hex SHA-256 of the lines ``"<sha256>  <size>  <path>\\n"``,
    one per file, sorted by path bytewise (``ManifestDigest`` in the server's
    rules.go). ``files`` are mappings with ``path``, ``size`` and ``sha256``.
    """
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: str(f["path"]).encode("utf-8")):
        h.update(("%s  %d  %s\n" % (f["sha256"], int(f["size"]), f["path"])).encode("utf-8"))
    return "sha256:" + h.hexdigest()


_MAX_PATH_LEN = 1024


def _check_file_path(p: str) -> None:
    """The server's rules for a file path (ValidateFilePath), checked before a
    path is sent or joined to a local directory."""
    if not p:
        raise ValueError("file path is empty")
    if len(p.encode("utf-8", "surrogatepass")) > _MAX_PATH_LEN:
        raise ValueError("file path %r is longer than %d bytes" % (p[:64], _MAX_PATH_LEN))
    if p.startswith("/"):
        raise ValueError("file path %r is absolute" % p)
    if "\\" in p:
        raise ValueError("file path %r contains a backslash" % p)
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in p):
        raise ValueError("file path %r contains a control character" % p)
    for seg in p.split("/"):
        if seg in ("", ".", ".."):
            raise ValueError("file path %r has an empty, '.' or '..' segment" % p)


def _local_path(root: str, path: str) -> str:
    """``path`` of a version (checked) under the local directory ``root``."""
    _check_file_path(path)
    segs = path.split("/")
    for seg in segs:
        # A drive or stream name on Windows would leave root.
        if os.sep != "/" and (":" in seg or os.sep in seg):
            raise ValueError("file path %r cannot be written on this system" % path)
    full = os.path.join(root, *segs)
    if os.path.commonpath([os.path.abspath(full), os.path.abspath(root)]) != os.path.abspath(root):
        raise ValueError("file path %r leaves the directory" % path)
    return full


def _q(segment: str) -> str:
    """One URL path segment, escaped (``/`` included)."""
    return urllib.parse.quote(segment, safe="")


def _qpath(path: str) -> str:
    """A file path for a URL: every segment escaped, ``/`` kept."""
    return urllib.parse.quote(path, safe="/")


def _rfc3339(t: Union[str, datetime.datetime, None]) -> Optional[str]:
    if t is None or isinstance(t, str):
        return t
    if t.tzinfo is None:
        raise ValueError("give timezone-aware datetimes (datetime.now(timezone.utc)), got %r" % t)
    return t.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def _strings(m: Optional[Mapping[str, Any]]) -> Optional[Dict[str, str]]:
    """Params and parameters are strings on the server: str() each value."""
    if m is None:
        return None
    return {str(k): v if isinstance(v, str) else json.dumps(v) if isinstance(v, (dict, list, bool)) or v is None else str(v) for k, v in m.items()}


def _compact(**fields: Any) -> Dict[str, Any]:
    """A JSON body without the fields left out (the server refuses nulls and unknown fields)."""
    return {k: v for k, v in fields.items() if v is not None}


def _parse_retry_after(value: Optional[str]) -> Optional[float]:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(int(value)))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, (when - datetime.datetime.now(datetime.timezone.utc)).total_seconds())


class _ShortBody(Exception):
    """A response body ended before its length: the connection broke."""


class _LocalIOError(ModelkeepError):
    """Reading or writing a local file failed: not a network error, not retried."""


# Connection failures: retried where the request is safe to repeat.
_CONN_ERRORS = (urllib.error.URLError, http.client.HTTPException, ConnectionError, socket.timeout, TimeoutError, _ShortBody, OSError)


class _FileRange:
    """A request body: ``length`` bytes of a file from ``start``, read as sent."""

    def __init__(self, path: str, start: int, length: int) -> None:
        self.path, self.start, self.left = path, start, length
        self._f: Optional[IO[bytes]] = None

    def read(self, n: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        try:
            if self._f is None:
                self._f = open(self.path, "rb")
                self._f.seek(self.start)
            b = self._f.read(min(max(n, _BLOCK), self.left) if n and n > 0 else self.left)
        except OSError as e:
            raise _LocalIOError("read %s: %s" % (self.path, e)) from e
        if not b:
            raise _LocalIOError("%s became shorter while it was sent" % self.path)
        self.left -= len(b)
        return b

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are answers to look at (a download's presigned URL), never
    followed with the bearer token."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        return None


# ---------------------------------------------------------------------------
# Results of push and pull
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class TransferEvent:
    """What :meth:`Client.push` and :meth:`Client.pull` report to ``progress``.

    ``kind`` is one of ``file_skipped`` (already in the version with the same
    SHA-256), ``upload_started`` (a resumable session opened), ``upload_resumed``
    (an open session found: ``part`` is how many parts it has received),
    ``part_uploaded``, ``part_skipped`` (received before, same SHA-256),
    ``file_uploaded`` and, for pulls, ``file_downloaded``. ``size`` is the
    bytes the event is about.
    """

    kind: str
    path: str
    part: Optional[int] = None
    size: int = 0


Progress = Callable[[TransferEvent], None]


@dataclasses.dataclass
class PushResult:
    """The outcome of :meth:`Client.push`.

    ``files`` are the version's records of the pushed files (path order),
    ``uploaded`` the paths sent now, ``skipped`` those the version held
    already with the same bytes, and ``manifest_digest`` the digest of the
    pushed files: the version's manifest digest at :meth:`Client.finalize`
    when it holds exactly these files.
    """

    model: str
    version: int
    files: List[File]
    uploaded: List[str]
    skipped: List[str]
    manifest_digest: str


@dataclasses.dataclass
class PullResult:
    """The outcome of :meth:`Client.pull`: where the verified files are, and
    which version they are."""

    model: str
    version: int
    path: str
    manifest_digest: str
    files: List[File]
    info: Version


@dataclasses.dataclass
class _LocalFile:
    path: str  # in the version
    local: str  # on disk
    size: int
    sha256: str = ""


# ---------------------------------------------------------------------------
# The client
# ---------------------------------------------------------------------------


class Client:
    """A Modelkeep client: one base URL and one bearer token.

    ``url`` defaults to ``$MODELKEEP_URL`` (else ``http://127.0.0.1:8080``),
    ``token`` to ``$MODELKEEP_TOKEN``. ``timeout`` is the socket timeout of
    each request in seconds. Requests refused with 429 or 503, and connection
    failures of requests safe to repeat, are retried ``retries`` times with
    exponential backoff from ``backoff`` seconds up to ``max_backoff`` (with
    jitter), or after the server's ``Retry-After`` (at most
    ``max_retry_after`` seconds). ``parallel`` is how many transfers
    :meth:`push` and :meth:`pull` run at once; files of at least
    ``multipart_threshold`` bytes are pushed as resumable uploads, smaller
    ones in one request.

    A client is safe to share between threads.
    """

    def __init__(
        self,
        url: Optional[str] = None,
        token: Optional[str] = None,
        *,
        timeout: float = 60.0,
        retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 300.0,
        parallel: int = 4,
        multipart_threshold: int = 16 * MiB,
        user_agent: str = USER_AGENT,
    ) -> None:
        url = url or os.environ.get("MODELKEEP_URL") or DEFAULT_URL
        self.url = url.rstrip("/")
        self.token = token if token is not None else os.environ.get("MODELKEEP_TOKEN", "")
        if parallel < 1:
            raise ValueError("parallel must be at least 1")
        self.timeout = timeout
        self.retries = max(0, retries)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_retry_after = max_retry_after
        self.parallel = parallel
        self.multipart_threshold = max(1, multipart_threshold)
        self.user_agent = user_agent
        self._opener = urllib.request.build_opener(_NoRedirect())
        self._sleep: Callable[[float], None] = time.sleep

    def __repr__(self) -> str:
        return "modelkeep.Client(%r)" % self.url

    # -- HTTP ---------------------------------------------------------------

    def _delay(self, attempt: int, retry_after: Optional[float]) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        d = min(self.max_backoff, self.backoff * (2 ** attempt))
        return d * (0.5 + random.random() / 2)

    def _open(self, method: str, url: str, headers: Dict[str, str], data: Any) -> Any:
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            return self._opener.open(req, timeout=self.timeout)
        except urllib.error.HTTPError as e:
            return e  # an answer: its status, headers and body are read as any other's

    def _request(
        self,
        method: str,
        path: str,
        *,
        query: Optional[Mapping[str, Any]] = None,
        json_body: Any = None,
        body: Optional[Callable[[], Tuple[Any, int]]] = None,
        headers: Optional[Mapping[str, str]] = None,
        ok: Sequence[int] = (200,),
        idempotent: Optional[bool] = None,
        stream: bool = False,
        absolute: bool = False,
    ) -> Any:
        """Sends a request, retrying as the client's policy says, and returns
        the response (``stream``; the caller closes it) or its JSON body.

        ``body`` makes a fresh ``(data, length)`` for every attempt.
        ``idempotent`` (GET, HEAD, PUT, DELETE by default) says whether a
        request whose connection broke may be sent again; 429 and 503 answers
        are retried whatever the method (the server did not act on them).
        ``absolute`` sends to ``path`` as a full URL without the token (a
        presigned URL).
        """
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT", "DELETE")
        url = path if absolute else self.url + path
        if query:
            q = [(k, str(v).lower() if isinstance(v, bool) else str(v)) for k, v in query.items() if v is not None]
            if q:
                url += "?" + urllib.parse.urlencode(q)
        attempt = 0
        while True:
            h = {"User-Agent": self.user_agent, "Accept": "application/json"}
            if self.token and not absolute:
                h["Authorization"] = "Bearer " + self.token
            data: Any = None
            if json_body is not None:
                data = json.dumps(json_body).encode("utf-8")
                h["Content-Type"] = "application/json"
            elif body is not None:
                data, length = body()
                h["Content-Type"] = "application/octet-stream"
                h["Content-Length"] = str(length)
            elif method in ("POST", "PUT", "PATCH"):
                data = b""
            if headers:
                h.update(headers)
            resp = None
            try:
                try:
                    resp = self._open(method, url, h, data)
                finally:
                    close = getattr(data, "close", None)
                    if close is not None:
                        close()
                status = resp.getcode()
                if status in ok:
                    if stream:
                        return resp
                    raw = resp.read()
                    resp.close()
                    if not raw:
                        return None
                    return json.loads(raw.decode("utf-8"))
                err_body = resp.read() if resp.fp is not None else b""
                resp.close()
            except _CONN_ERRORS as e:
                if resp is not None:
                    resp.close()
                if not idempotent or attempt >= self.retries:
                    raise TransportError("%s %s: %s" % (method, _redact(url), e)) from e
                self._sleep(self._delay(attempt, None))
                attempt += 1
                continue
            err = self._api_error(method, url, status, resp.headers, err_body)
            retry = status in (429, 503) or (idempotent and status in (502, 504))
            if retry and attempt < self.retries:
                self._sleep(self._delay(attempt, err.retry_after))
                attempt += 1
                continue
            raise err

    @staticmethod
    def _api_error(method: str, url: str, status: int, headers: Any, raw: bytes) -> APIError:
        code, message = "", ""
        gates: Optional[List[GateResult]] = None
        missing: Optional[List[str]] = None
        try:
            e = json.loads(raw.decode("utf-8"))["error"]
            code, message = str(e.get("code", "")), str(e.get("message", ""))
            gates, missing = e.get("failed_gates"), e.get("missing_requirements")
        except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
            message = raw.decode("utf-8", "replace").strip()[:300] or http.client.responses.get(status, "error")
        cls = _error_class(status, code)
        return cls(
            status,
            code or http.client.responses.get(status, "error").lower().replace(" ", "_"),
            message,
            method=method,
            url=url,
            failed_gates=gates,
            missing_requirements=missing,
            request_id=headers.get("X-Request-Id", "") if headers is not None else "",
            retry_after=_parse_retry_after(headers.get("Retry-After")) if headers is not None else None,
        )

    def _pages(self, path: str, key: str, query: Optional[Mapping[str, Any]] = None, page_size: int = 200) -> Iterator[Any]:
        q = dict(query or {})
        q["page_size"] = page_size
        while True:
            page = self._request("GET", path, query=q)
            for item in page.get(key) or []:
                yield item
            token = page.get("next_page_token") or ""
            if not token:
                return
            q["page_token"] = token

    @staticmethod
    def _v(model: str, version: int) -> str:
        return "/api/v1/models/%s/versions/%d" % (_q(model), int(version))

    # -- models and versions ------------------------------------------------

    def create_model(
        self, name: str, *, description: Optional[str] = None, tags: Optional[Mapping[str, str]] = None, exist_ok: bool = False
    ) -> Model:
        """Registers a model; with ``exist_ok`` an existing one is returned instead of :class:`Conflict`."""
        try:
            return self._request(
                "POST", "/api/v1/models", json_body=_compact(name=name, description=description, tags=_strings(tags)), ok=(201,)
            )
        except Conflict:
            if not exist_ok:
                raise
            return self.get_model(name)

    def get_model(self, name: str) -> Model:
        """One model."""
        return self._request("GET", "/api/v1/models/%s" % _q(name))

    def list_models(self, *, q: Optional[str] = None, tag: Optional[str] = None, filter: Optional[str] = None) -> Iterator[Model]:
        """Every model (all pages), optionally filtered (``tag="team:risk"``, a filter expression of docs/search.md)."""
        return self._pages("/api/v1/models", "models", {"q": q, "tag": tag, "filter": filter})

    def create_version(
        self,
        model: str,
        *,
        description: Optional[str] = None,
        tags: Optional[Mapping[str, str]] = None,
        params: Optional[Mapping[str, Any]] = None,
        run_id: Optional[str] = None,
        git_commit: Optional[str] = None,
        code_uri: Optional[str] = None,
        datasets: Optional[Sequence[Mapping[str, Any]]] = None,
        parent: Optional[Union[Tuple[str, int], Mapping[str, Any]]] = None,
        run: Optional[Mapping[str, Any]] = None,
    ) -> Version:
        """Opens a pending version with the model's next number.

        ``params`` are the training parameters, immutable once given; the
        server keeps strings, so numbers are sent with ``str()`` and
        booleans, lists and dicts as JSON. ``run_id``, ``git_commit``
        and ``code_uri`` form the version's ``source``; ``datasets`` are
        ``{"name", "version", "uri", "sha256", "role"}`` mappings (role
        ``training``, ``validation``, ``test`` or ``evaluation``); ``parent``
        is ``(model, version)`` or ``{"model", "version", "relation"}``;
        ``run`` is ``{"parameters", "environment"}`` of the run.
        """
        source = _compact(run_id=run_id, git_commit=git_commit, code_uri=code_uri) or None
        if isinstance(parent, tuple):
            parent = {"model": parent[0], "version": int(parent[1])}
        body = _compact(
            description=description,
            tags=_strings(tags),
            params=_strings(params),
            source=source,
            datasets=[dict(d) for d in datasets] if datasets is not None else None,
            parent=dict(parent) if parent is not None else None,
            run=dict(run) if run is not None else None,
        )
        return self._request("POST", "/api/v1/models/%s/versions" % _q(model), json_body=body, ok=(201,))

    def get_version(self, model: str, version: int) -> Version:
        """One version with its status, stage, aliases and manifest digest."""
        return self._request("GET", self._v(model, version))

    def list_versions(
        self, model: str, *, stage: Optional[str] = None, status: Optional[str] = None, filter: Optional[str] = None,
        order_by: Optional[str] = None,
    ) -> Iterator[Version]:
        """A model's versions, newest first (all pages)."""
        return self._pages(
            "/api/v1/models/%s/versions" % _q(model), "versions", {"stage": stage, "status": status, "filter": filter, "order_by": order_by}
        )

    def finalize(self, model: str, version: int, *, expect_manifest_digest: Optional[str] = None) -> Version:
        """Makes a pending version ``ready`` (immutable, content-addressed).

        With ``expect_manifest_digest`` (say, :attr:`PushResult.manifest_digest`)
        the version's files are compared with it first, and a version
        holding other files is not finalized (:class:`VerificationError`).
        A version that is ready already is returned as it is (so a finalize
        retried after a lost answer is safe), after the same comparison.
        """
        if expect_manifest_digest is not None:
            listing = self.list_files(model, version)
            got = manifest_digest(listing.get("files") or [])
            if got != expect_manifest_digest:
                raise VerificationError(
                    "%s/%d holds other files than expected: manifest digest %s, want %s" % (model, version, got, expect_manifest_digest),
                    expected=expect_manifest_digest,
                    actual=got,
                )
        try:
            v: Version = self._request("POST", self._v(model, version) + "/finalize", idempotent=True)
        except Conflict:
            v = self.get_version(model, version)
            if v.get("status") != "ready":
                raise
        if expect_manifest_digest is not None and v.get("manifest_digest") != expect_manifest_digest:
            raise VerificationError(
                "%s/%d was finalized with manifest digest %s, want %s" % (model, version, v.get("manifest_digest"), expect_manifest_digest),
                expected=expect_manifest_digest,
                actual=v.get("manifest_digest"),
            )
        return v

    # -- metrics, datasets, runs -------------------------------------------

    def log_metrics(
        self,
        model: str,
        version: int,
        metrics: Union[Mapping[str, float], Sequence[Mapping[str, Any]]],
        *,
        step: Optional[int] = None,
        dataset: Optional[str] = None,
        split: Optional[str] = None,
        environment: Optional[str] = None,
        run_id: Optional[str] = None,
        dataset_version: Optional[str] = None,
        timestamp: Union[str, datetime.datetime, None] = None,
    ) -> List[Metric]:
        """Records metric points of a version (also once it is ready).

        ``metrics`` is ``{"auc": 0.93, "loss": 0.21}`` or a sequence of point
        mappings (``{"key", "value", "step", ...}``); the keyword arguments
        fill what a point leaves out. Sent in batches of 1,000 points; not
        repeated after a broken connection (a point might be recorded twice).
        """
        common = _compact(
            step=step, dataset=dataset, split=split, environment=environment, run_id=run_id,
            dataset_version=dataset_version, timestamp=_rfc3339(timestamp),
        )
        if isinstance(metrics, Mapping):
            points = [dict(common, key=k, value=float(v)) for k, v in metrics.items()]
        else:
            points = []
            for m in metrics:
                p = dict(common)
                p.update({k: v for k, v in m.items() if v is not None})
                if "timestamp" in p:
                    p["timestamp"] = _rfc3339(p["timestamp"])
                points.append(p)
        if not points:
            raise ValueError("no metrics to log")
        out: List[Metric] = []
        for i in range(0, len(points), 1000):
            r = self._request("POST", self._v(model, version) + "/metrics", json_body={"metrics": points[i : i + 1000]}, ok=(201,))
            out.extend(r.get("metrics") or [])
        return out

    def log_metric(self, model: str, version: int, key: str, value: float, **kwargs: Any) -> List[Metric]:
        """Records one metric point; keyword arguments as in :meth:`log_metrics`."""
        return self.log_metrics(model, version, {key: value}, **kwargs)

    def list_metrics(self, model: str, version: int, *, key: Optional[str] = None) -> Iterator[Metric]:
        """A version's metric points ordered by key, step and time (all pages)."""
        return self._pages(self._v(model, version) + "/metrics", "metrics", {"key": key})

    def register_dataset(
        self,
        name: str,
        version: str,
        *,
        uri: Optional[str] = None,
        sha256: Optional[str] = None,
        size: Optional[int] = None,
        license: Optional[str] = None,
        description: Optional[str] = None,
    ) -> Dataset:
        """Registers a dataset version (idempotent when it tells the same; :class:`Conflict` otherwise)."""
        body = _compact(name=name, version=version, uri=uri, sha256=sha256, size=size, license=license, description=description)
        return self._request("POST", "/api/v1/datasets", json_body=body, ok=(200, 201), idempotent=True)

    def get_dataset(self, name: str, version: str) -> Dataset:
        """A dataset version with the first page of the versions that used it."""
        return self._request("GET", "/api/v1/datasets/%s/versions/%s" % (_q(name), _q(version)))

    def register_run(
        self,
        run_id: str,
        *,
        kind: Optional[str] = None,
        started_at: Union[str, datetime.datetime, None] = None,
        ended_at: Union[str, datetime.datetime, None] = None,
        triggered_by: Optional[str] = None,
        code_repo: Optional[str] = None,
        code_commit: Optional[str] = None,
        parameters: Optional[Mapping[str, Any]] = None,
        environment: Optional[Mapping[str, Any]] = None,
        compute: Optional[Mapping[str, Any]] = None,
        inputs: Optional[Sequence[Mapping[str, Any]]] = None,
        subject: Optional[Union[Tuple[str, int], Mapping[str, Any]]] = None,
        output_artifact_sha256: Optional[str] = None,
        **extra: Any,
    ) -> Run:
        """Registers a run (idempotent when it tells the same).

        ``kind`` is ``training`` (the default on the server), ``evaluation``,
        ``robustness``, ``fairness``, ``security`` or ``monitoring``;
        ``inputs`` are the dataset versions it read (``{"name", "version",
        "role"}``), ``subject`` the version an evaluation tested
        (``(model, version)``). Other fields of the schema ``RunInput``
        (``energy_kwh``, ``deployment_id``, ``test_log``, ...) go as keyword
        arguments.
        """
        if isinstance(subject, tuple):
            subject = {"model": subject[0], "version": int(subject[1])}
        code_ref = _compact(repo=code_repo, commit=code_commit) or None
        body = _compact(
            run_id=run_id,
            kind=kind,
            started_at=_rfc3339(started_at),
            ended_at=_rfc3339(ended_at),
            triggered_by=triggered_by,
            code_ref=code_ref,
            parameters=_strings(parameters),
            environment=dict(environment) if environment is not None else None,
            compute=dict(compute) if compute is not None else None,
            inputs=[dict(i) for i in inputs] if inputs is not None else None,
            subject=dict(subject) if subject is not None else None,
            output_artifact_sha256=output_artifact_sha256,
            **extra,
        )
        return self._request("POST", "/api/v1/runs", json_body=body, ok=(200, 201), idempotent=True)

    def get_run(self, run_id: str) -> Run:
        """One run."""
        return self._request("GET", "/api/v1/runs/%s" % _q(run_id))

    # -- files ----------------------------------------------------------------

    def list_files(self, model: str, version: int) -> FileList:
        """A version's files (path order) and, once ready, its manifest digest."""
        return self._request("GET", self._v(model, version) + "/files")

    def upload_file(
        self, model: str, version: int, path: str, local_path: Union[str, "os.PathLike[str]"], *, sha256: Optional[str] = None
    ) -> File:
        """Uploads one local file in one request (``PUT``), checked against its SHA-256.

        Good for small files; :meth:`push` sends large ones as resumable
        uploads. The request is repeated after a broken connection.
        """
        _check_file_path(path)
        local = os.fspath(local_path)
        size = os.path.getsize(local)
        digest = sha256 or sha256_file(local)
        f: File = self._request(
            "PUT",
            self._v(model, version) + "/files/" + _qpath(path),
            body=lambda: (_FileRange(local, 0, size), size),
            headers={"X-Checksum-Sha256": digest},
            ok=(201,),
        )
        _check_file_record(f, path, size, digest)
        return f

    # -- resumable uploads (docs/uploads.md) ----------------------------------

    def create_upload(self, model: str, version: int, path: str, size: int, sha256: Optional[str] = None) -> Upload:
        """Opens a resumable upload session for one file path."""
        _check_file_path(path)
        return self._request(
            "POST", self._v(model, version) + "/uploads", json_body=_compact(path=path, size=size, sha256=sha256), ok=(201,)
        )

    def get_upload(self, model: str, version: int, upload_id: str) -> Upload:
        """A session with the parts it received."""
        return self._request("GET", self._v(model, version) + "/uploads/" + _q(upload_id))

    def list_uploads(self, model: str, version: int, *, status: Optional[str] = None) -> Iterator[Upload]:
        """A version's sessions, newest first (all pages; without their parts)."""
        return self._pages(self._v(model, version) + "/uploads", "uploads", {"status": status})

    def upload_part(
        self, model: str, version: int, upload_id: str, number: int, data: Union[bytes, Tuple[str, int, int]], *, sha256: Optional[str] = None
    ) -> UploadPart:
        """Sends one part: ``bytes``, or ``(local_path, start, length)`` read from a file as it is sent."""
        if isinstance(data, (bytes, bytearray, memoryview)):
            payload = bytes(data)
            digest = sha256 or hashlib.sha256(payload).hexdigest()

            def body() -> Tuple[Any, int]:
                return payload, len(payload)

        else:
            local, start, length = data
            digest = sha256 or _sha256_range(local, start, length)

            def body() -> Tuple[Any, int]:
                return _FileRange(local, start, length), length

        part: UploadPart = self._request(
            "PUT",
            self._v(model, version) + "/uploads/%s/parts/%d" % (_q(upload_id), int(number)),
            body=body,
            headers={"X-Checksum-Sha256": digest},
        )
        if part.get("sha256") != digest:
            raise VerificationError(
                "part %d of upload %s: the server recorded SHA-256 %s, sent %s" % (number, upload_id, part.get("sha256"), digest),
                expected=digest,
                actual=part.get("sha256"),
            )
        return part

    def complete_upload(self, model: str, version: int, upload_id: str) -> File:
        """Completes a session: the server verifies the whole file and adds it to the version."""
        return self._request("POST", self._v(model, version) + "/uploads/%s/complete" % _q(upload_id), ok=(200, 201), idempotent=True)

    def abort_upload(self, model: str, version: int, upload_id: str) -> None:
        """Aborts an open session; its parts are discarded."""
        self._request("DELETE", self._v(model, version) + "/uploads/" + _q(upload_id), ok=(204,))

    # -- push -----------------------------------------------------------------

    def push(
        self,
        model: str,
        version: int,
        directory: Union[str, "os.PathLike[str]"],
        *,
        prefix: str = "",
        parallel: Optional[int] = None,
        multipart_threshold: Optional[int] = None,
        progress: Optional[Progress] = None,
    ) -> PushResult:
        """Pushes every regular file under ``directory`` into a pending version.

        A file's path in the version is its path relative to ``directory``
        with ``/`` separators, under ``prefix`` if given. Files the version
        holds already with the same SHA-256 and size are skipped. Smaller
        files go in one checked ``PUT``; files of at least
        ``multipart_threshold`` bytes as resumable uploads: the session
        announces the file's SHA-256, and its parts (each with its own
        SHA-256) go ``parallel`` at a time. If a session for the path is
        open already (an earlier push was interrupted), it is resumed: only
        the parts it has not received, or received with other bytes, are
        sent.

        When something fails, the transfers not yet started are cancelled,
        the others finish, and :class:`PushIncomplete` is raised; the open
        sessions stay, so pushing again resumes. Returns a
        :class:`PushResult` whose ``manifest_digest`` can be handed to
        :meth:`finalize`.
        """
        root = os.fspath(directory)
        files = _scan(root, prefix)
        if not files:
            raise ValueError("%s holds no files to push" % root)
        threshold = self.multipart_threshold if multipart_threshold is None else max(1, multipart_threshold)
        notify = _notifier(progress)
        result = PushResult(model=model, version=int(version), files=[], uploaded=[], skipped=[], manifest_digest="")
        done: Dict[str, File] = {}
        failures: Dict[str, BaseException] = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=parallel or self.parallel) as pool:

            def hash_one(f: _LocalFile) -> None:
                f.sha256 = sha256_file(f.local)
                if os.path.getsize(f.local) != f.size:
                    raise ModelkeepError("%s changed while it was hashed" % f.local)

            _run_all(pool, [(f.path, lambda f=f: hash_one(f)) for f in files], failures)
            if failures:
                raise PushIncomplete(_failure_message(failures), failures, result)
            result.manifest_digest = manifest_digest({"path": f.path, "size": f.size, "sha256": f.sha256} for f in files)

            existing = {f["path"]: f for f in (self.list_files(model, version).get("files") or [])}
            todo: List[_LocalFile] = []
            for f in files:
                have = existing.get(f.path)
                if have is not None and have.get("sha256") == f.sha256 and have.get("size") == f.size:
                    done[f.path] = have
                    result.skipped.append(f.path)
                    notify(TransferEvent("file_skipped", f.path, size=f.size))
                else:
                    todo.append(f)

            large = {f.path for f in todo if f.size >= threshold and f.size > 0}
            open_sessions: Dict[str, Upload] = {}
            if large:
                for u in self.list_uploads(model, version, status="open"):
                    open_sessions.setdefault(u["path"], u)  # newest first

            tasks: List[Tuple[str, Callable[[], Any]]] = []
            sessions: List[Tuple[_LocalFile, Upload]] = []
            for f in todo:
                if f.path in large:
                    try:
                        up, received = self._session_for(model, version, f, open_sessions, notify)
                    except Exception as e:  # noqa: BLE001 - reported with the others
                        failures[f.path] = e
                        break
                    sessions.append((f, up))
                    ps = int(up["part_size"])
                    for n in range(1, int(up["part_count"]) + 1):
                        start = (n - 1) * ps
                        length = min(ps, f.size - start)
                        tasks.append(
                            (f.path, lambda f=f, up=up, n=n, start=start, length=length, got=received.get(n): self._push_part(
                                model, version, up["id"], f, n, start, length, got, notify))
                        )
                else:
                    tasks.append((f.path, lambda f=f: self._push_small(model, version, f, done, notify)))
            if not failures:
                _run_all(pool, tasks, failures)

            def complete(f: _LocalFile, up: Upload) -> None:
                rec = self.complete_upload(model, version, up["id"])
                _check_file_record(rec, f.path, f.size, f.sha256)
                done[f.path] = rec
                notify(TransferEvent("file_uploaded", f.path, size=f.size))

            if not failures:
                _run_all(pool, [(f.path, lambda f=f, up=up: complete(f, up)) for f, up in sessions], failures)

        result.uploaded = sorted(p for p in done if p not in result.skipped)
        result.files = [done[p] for p in sorted(done)]
        if failures:
            raise PushIncomplete(_failure_message(failures), failures, result)
        return result

    def _session_for(
        self, model: str, version: int, f: _LocalFile, open_sessions: Dict[str, Upload], notify: Progress
    ) -> Tuple[Upload, Dict[int, UploadPart]]:
        """The session to send ``f`` through: the open one for its path when it
        announced the same size and SHA-256 (with the parts it received), else
        a new one (aborting a stale one first)."""
        u = open_sessions.get(f.path)
        for _ in range(2):
            if u is not None:
                if u.get("size") == f.size and u.get("sha256") == f.sha256:
                    full = self.get_upload(model, version, u["id"])
                    if full.get("status") == "open":
                        received = {int(p["number"]): p for p in full.get("parts") or []}
                        notify(TransferEvent("upload_resumed", f.path, part=len(received), size=f.size))
                        return full, received
                else:
                    try:
                        self.abort_upload(model, version, u["id"])
                    except Conflict:
                        pass
            try:
                up = self.create_upload(model, version, f.path, f.size, f.sha256)
                notify(TransferEvent("upload_started", f.path, size=f.size))
                return up, {}
            except Conflict:
                # Another session for the path opened meanwhile: look again.
                u = next((x for x in self.list_uploads(model, version, status="open") if x["path"] == f.path), None)
                if u is None:
                    raise
        raise ModelkeepError("%s: could not open an upload session" % f.path)

    def _push_part(
        self, model: str, version: int, upload_id: str, f: _LocalFile, n: int, start: int, length: int,
        received: Optional[UploadPart], notify: Progress,
    ) -> None:
        digest = _sha256_range(f.local, start, length)
        if received is not None and received.get("sha256") == digest and received.get("size") == length:
            notify(TransferEvent("part_skipped", f.path, part=n, size=length))
            return
        self.upload_part(model, version, upload_id, n, (f.local, start, length), sha256=digest)
        notify(TransferEvent("part_uploaded", f.path, part=n, size=length))

    def _push_small(self, model: str, version: int, f: _LocalFile, done: Dict[str, File], notify: Progress) -> None:
        done[f.path] = self.upload_file(model, version, f.path, f.local, sha256=f.sha256)
        notify(TransferEvent("file_uploaded", f.path, size=f.size))

    # -- stages, transitions, aliases, policy ---------------------------------

    def request_transition(self, model: str, version: int, to: str, comment: Optional[str] = None) -> Transition:
        """Asks to move a ready version to ``staging``, ``production`` or ``archived``.

        Into production the request waits for approvals (four eyes: the
        approver must be neither the requester nor the version's creator).
        """
        return self._request("POST", self._v(model, version) + "/transitions", json_body=_compact(to=to, comment=comment), ok=(201,))

    def get_transition(self, transition_id: str) -> Transition:
        """One transition request with its approvals."""
        return self._request("GET", "/api/v1/transitions/" + _q(transition_id))

    def list_transitions(self, *, status: Optional[str] = None, model: Optional[str] = None) -> Iterator[Transition]:
        """Transition requests, newest first (all pages)."""
        return self._pages("/api/v1/transitions", "transitions", {"status": status, "model": model})

    def approve_transition(self, transition_id: str, comment: str) -> Transition:
        """Adds the caller's approval (approver role). :class:`Forbidden` under
        the four-eyes rule; :class:`PreconditionFailed` with ``failed_gates``
        or ``missing_requirements`` when the policy's gates do not pass."""
        return self._request("POST", "/api/v1/transitions/%s/approve" % _q(transition_id), json_body={"comment": comment})

    def reject_transition(self, transition_id: str, comment: str) -> Transition:
        """Closes a pending request without moving the version."""
        return self._request("POST", "/api/v1/transitions/%s/reject" % _q(transition_id), json_body={"comment": comment})

    def version_in_stage(self, model: str, stage: str) -> StagedVersion:
        """The version now in ``stage``, with its files (:class:`NotFound` if none)."""
        return self._request("GET", "/api/v1/models/%s/stages/%s" % (_q(model), _q(stage)))

    def get_alias(self, model: str, alias: str) -> Version:
        """The version an alias points at."""
        return self._request("GET", "/api/v1/models/%s/aliases/%s" % (_q(model), _q(alias)))

    def set_alias(self, model: str, alias: str, version: int) -> Alias:
        """Points an alias at a ready version (creating or moving it)."""
        return self._request("PUT", "/api/v1/models/%s/aliases/%s" % (_q(model), _q(alias)), json_body={"version": int(version)})

    def delete_alias(self, model: str, alias: str) -> None:
        """Removes an alias."""
        self._request("DELETE", "/api/v1/models/%s/aliases/%s" % (_q(model), _q(alias)), ok=(204,))

    def get_policy(self, model: str) -> Policy:
        """A model's promotion policy."""
        return self._request("GET", "/api/v1/models/%s/policy" % _q(model))

    def set_policy(
        self,
        model: str,
        *,
        required_approvals: Optional[int] = None,
        required_tags: Optional[Mapping[str, str]] = None,
        metric_gates: Optional[Sequence[Mapping[str, Any]]] = None,
        protected_aliases: Optional[Sequence[str]] = None,
        require_evidence: Optional[bool] = None,
    ) -> Policy:
        """Replaces a model's promotion policy (approver role). A metric gate
        is ``{"key": "auc", "op": ">=", "threshold": 0.9, "dataset": ..., "split": ...}``."""
        body = _compact(
            required_approvals=required_approvals,
            required_tags=dict(required_tags) if required_tags is not None else None,
            metric_gates=[dict(g) for g in metric_gates] if metric_gates is not None else None,
            protected_aliases=list(protected_aliases) if protected_aliases is not None else None,
            require_evidence=require_evidence,
        )
        return self._request("PUT", "/api/v1/models/%s/policy" % _q(model), json_body=body)

    # -- deployments ----------------------------------------------------------

    def record_deployment(
        self,
        model: str,
        version: int,
        environment: str,
        *,
        strategy: str = "direct",
        traffic_percent: Optional[int] = None,
        replaces: Optional[int] = None,
    ) -> Deployment:
        """Adds a rollout of a version (in staging or production) to the ledger.

        ``strategy`` is ``blue_green``, ``canary``, ``rolling``, ``shadow``,
        ``ab_test`` or ``direct``; ``traffic_percent`` is 100 when left out.
        """
        body = _compact(environment=environment, strategy=strategy, traffic_percent=traffic_percent, replaces=replaces)
        return self._request("POST", self._v(model, version) + "/deployments", json_body=body, ok=(201,))

    def list_deployments(
        self, *, environment: Optional[str] = None, model: Optional[str] = None, at: Union[str, datetime.datetime, None] = None
    ) -> Iterator[Deployment]:
        """The deployments ledger, newest first; with ``at``, what was running then."""
        return self._pages("/api/v1/deployments", "deployments", {"environment": environment, "model": model, "at": _rfc3339(at)})

    # -- pull -------------------------------------------------------------------

    def resolve(
        self, model: str, *, stage: Optional[str] = None, alias: Optional[str] = None, version: Optional[int] = None
    ) -> Tuple[Version, List[File]]:
        """The version in a stage, behind an alias, or by number, and its files,
        with the files checked against the version's manifest digest."""
        if sum(x is not None for x in (stage, alias, version)) != 1:
            raise ValueError("give exactly one of stage, alias and version")
        if stage is not None:
            staged = self.version_in_stage(model, stage)
            files = list(staged.get("files") or [])
            info: Version = staged
        else:
            info = self.get_alias(model, alias) if alias is not None else self.get_version(model, int(version))  # type: ignore[arg-type]
            listing = self.list_files(model, info["version"])
            files = list(listing.get("files") or [])
            if listing.get("manifest_digest") != info.get("manifest_digest"):
                raise VerificationError(
                    "%s/%s: the file list's manifest digest %s is not the version's %s"
                    % (model, info.get("version"), listing.get("manifest_digest"), info.get("manifest_digest")),
                    expected=info.get("manifest_digest"),
                    actual=listing.get("manifest_digest"),
                )
        if info.get("status") != "ready" or not info.get("manifest_digest"):
            raise ModelkeepError(
                "%s/%s is %s: only ready versions have a manifest digest to verify a pull with" % (model, info.get("version"), info.get("status"))
            )
        got = manifest_digest(files)
        if got != info["manifest_digest"]:
            raise VerificationError(
                "%s/%s: its files make manifest digest %s, the version says %s" % (model, info["version"], got, info["manifest_digest"]),
                expected=info["manifest_digest"],
                actual=got,
            )
        for f in files:
            _check_file_path(f["path"])
        return info, files

    def pull(
        self,
        model: str,
        dest: Union[str, "os.PathLike[str]"],
        *,
        stage: Optional[str] = None,
        alias: Optional[str] = None,
        version: Optional[int] = None,
        expect_manifest_digest: Optional[str] = None,
        parallel: Optional[int] = None,
        chunk_size: Optional[int] = None,
        presigned: bool = False,
        overwrite: bool = False,
        progress: Optional[Progress] = None,
    ) -> PullResult:
        """Downloads a ready version into the directory ``dest``, verified.

        Give exactly one of ``stage`` (``production``, ``staging``, ...),
        ``alias`` or ``version``. The file list is checked against the
        version's manifest digest (and ``expect_manifest_digest`` when given),
        each file against its size and SHA-256 (also the server's
        ``X-Checksum-Sha256``). Files are fetched ``parallel`` at a time; a
        file larger than ``chunk_size`` is fetched as byte ranges of that
        size in parallel; a broken download continues from where it broke
        (``Range`` with ``If-Range``). With ``presigned`` the bytes come
        straight from the S3 blob store through short-lived URLs, where the
        server has one.

        Everything goes into a hidden temporary directory beside ``dest``,
        renamed to ``dest`` only once every file is verified: ``dest`` never
        holds a partial or unverified version. An existing ``dest`` is
        :class:`FileExistsError` unless ``overwrite``, which replaces it
        (moved aside, then removed, after the new one is in place).
        """
        info, files = self.resolve(model, stage=stage, alias=alias, version=version)
        digest = info["manifest_digest"]
        if expect_manifest_digest is not None and expect_manifest_digest != digest:
            raise VerificationError(
                "%s/%s has manifest digest %s, want %s" % (model, info["version"], digest, expect_manifest_digest),
                expected=expect_manifest_digest,
                actual=digest,
            )
        dest_path = os.path.abspath(os.fspath(dest))
        if os.path.lexists(dest_path) and not overwrite:
            raise FileExistsError("%s exists: pull into a new directory, or pass overwrite=True" % dest_path)
        parent = os.path.dirname(dest_path)
        os.makedirs(parent, exist_ok=True)
        tmp = _make_temp_dir(parent, os.path.basename(dest_path))
        notify = _notifier(progress)
        number = int(info["version"])
        try:
            targets = [(f, _local_path(tmp, f["path"])) for f in files]
            for _, target in targets:
                os.makedirs(os.path.dirname(target), exist_ok=True)
            tasks: List[Tuple[str, Callable[[], Any]]] = []
            ranged: List[Tuple[File, str]] = []
            for f, target in targets:
                size = int(f["size"])
                if chunk_size and size > chunk_size:
                    with open(target, "wb") as out:
                        out.truncate(size)
                    ranged.append((f, target))
                    for start in range(0, size, chunk_size):
                        end = min(size, start + chunk_size)
                        tasks.append((f["path"], lambda f=f, target=target, start=start, end=end: self._download_range(
                            model, number, f, target, start, end, presigned)))
                else:
                    tasks.append((f["path"], lambda f=f, target=target: self._download_whole(model, number, f, target, presigned, notify)))
            failures: Dict[str, BaseException] = {}
            with concurrent.futures.ThreadPoolExecutor(max_workers=parallel or self.parallel) as pool:
                _run_all(pool, tasks, failures)
                if not failures:

                    def check(f: File, target: str) -> None:
                        _verify_local(target, f)
                        notify(TransferEvent("file_downloaded", f["path"], size=int(f["size"])))

                    _run_all(pool, [(f["path"], lambda f=f, target=target: check(f, target)) for f, target in ranged], failures)
            if failures:
                path, err = sorted(failures.items())[0]
                raise err
            _fsync_dir(tmp)
            if os.path.lexists(dest_path):
                if not overwrite:
                    raise FileExistsError("%s appeared during the pull" % dest_path)
                old = tmp + ".old"
                os.rename(dest_path, old)
                os.rename(tmp, dest_path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.rename(tmp, dest_path)
            _fsync_dir(parent)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return PullResult(model=model, version=number, path=dest_path, manifest_digest=digest, files=files, info=info)

    def download_file(
        self, model: str, version: int, path: str, dest: Union[str, "os.PathLike[str]"], *, presigned: bool = False
    ) -> File:
        """Downloads one file of a version to the file ``dest``, checked against
        the version's record of it (size and SHA-256), written to a temporary
        file beside ``dest`` and renamed into place."""
        _check_file_path(path)
        listing = self.list_files(model, version)
        rec = next((f for f in listing.get("files") or [] if f["path"] == path), None)
        if rec is None:
            raise NotFound(404, "not_found", "%s/%d has no file %r" % (model, version, path))
        target = os.path.abspath(os.fspath(dest))
        tmp = "%s.%s.part" % (target, secrets.token_hex(4))
        try:
            self._download_whole(model, int(version), rec, tmp, presigned, _notifier(None))
            os.replace(tmp, target)
        except BaseException:
            with _suppress_os_error():
                os.remove(tmp)
            raise
        return rec

    def _open_download(self, model: str, version: int, f: File, headers: Dict[str, str], presigned: bool) -> Any:
        """The response to a GET of a file (following a presigned redirect
        without the token), for the caller to read and close."""
        path = self._v(model, version) + "/files/" + _qpath(f["path"])
        resp = self._request(
            "GET", path, query={"redirect": True} if presigned else None, headers=headers, ok=(200, 206, 307), stream=True
        )
        if resp.getcode() != 307:
            sent = resp.headers.get("X-Checksum-Sha256")
            if sent and sent.lower() != f["sha256"]:
                resp.close()
                raise VerificationError(
                    "%s: the server sends SHA-256 %s, the manifest says %s" % (f["path"], sent, f["sha256"]),
                    path=f["path"], expected=f["sha256"], actual=sent,
                )
            return resp
        location = resp.headers.get("Location", "")
        resp.close()
        if not location:
            raise ModelkeepError("%s: a redirect without a Location" % f["path"])
        location = urllib.parse.urljoin(self.url + path, location)
        # The presigned URL carries its own authorisation: no token, and no
        # If-Match (the blob store's ETag is not the file's SHA-256).
        plain = {k: v for k, v in headers.items() if k in ("Range",)}
        return self._request("GET", location, headers=plain, ok=(200, 206), stream=True, absolute=True)

    def _download_whole(self, model: str, version: int, f: File, target: str, presigned: bool, notify: Progress) -> None:
        size, want = int(f["size"]), f["sha256"]
        h = hashlib.sha256()
        written = 0
        attempt = 0
        with open(target, "wb") as out:
            while True:
                headers: Dict[str, str] = {}
                if written:
                    headers = {"Range": "bytes=%d-" % written, "If-Range": '"%s"' % want}
                resp = self._open_download(model, version, f, headers, presigned)
                try:
                    status = resp.getcode()
                    if written and status == 200:  # the whole file again: start over
                        out.seek(0)
                        out.truncate()
                        h, written = hashlib.sha256(), 0
                    elif status == 206 and not resp.headers.get("Content-Range", "").startswith("bytes %d-" % written):
                        raise ModelkeepError("%s: asked for bytes from %d, got %s" % (f["path"], written, resp.headers.get("Content-Range")))
                    while True:
                        b = resp.read(_BLOCK)
                        if not b:
                            break
                        written += len(b)
                        if written > size:
                            raise VerificationError(
                                "%s: more than the %d bytes of the manifest" % (f["path"], size), path=f["path"], expected=size, actual=written
                            )
                        h.update(b)
                        _write(out, b, target)
                    if written < size:
                        raise _ShortBody("%s: the body ended at %d of %d bytes" % (f["path"], written, size))
                    break
                except _CONN_ERRORS as e:
                    if attempt >= self.retries:
                        raise TransportError("download %s: %s" % (f["path"], e)) from e
                    self._sleep(self._delay(attempt, None))
                    attempt += 1
                finally:
                    resp.close()
            out.flush()
            os.fsync(out.fileno())
        if written != size or h.hexdigest() != want:
            raise VerificationError(
                "%s: downloaded %d bytes with SHA-256 %s, the manifest says %d bytes with %s" % (f["path"], written, h.hexdigest(), size, want),
                path=f["path"],
                expected=want,
                actual=h.hexdigest(),
            )
        notify(TransferEvent("file_downloaded", f["path"], size=size))

    def _download_range(self, model: str, version: int, f: File, target: str, start: int, end: int, presigned: bool) -> None:
        pos, attempt = start, 0
        with open(target, "r+b") as out:
            out.seek(start)
            while pos < end:
                headers = {"Range": "bytes=%d-%d" % (pos, end - 1), "If-Match": '"%s"' % f["sha256"]}
                resp = self._open_download(model, version, f, headers, presigned)
                try:
                    if resp.getcode() != 206 or not resp.headers.get("Content-Range", "").startswith("bytes %d-%d/" % (pos, end - 1)):
                        raise ModelkeepError(
                            "%s: asked for bytes %d-%d, got status %d %s"
                            % (f["path"], pos, end - 1, resp.getcode(), resp.headers.get("Content-Range", ""))
                        )
                    while pos < end:
                        b = resp.read(min(_BLOCK, end - pos))
                        if not b:
                            raise _ShortBody("%s: the range ended at %d of %d" % (f["path"], pos, end))
                        _write(out, b, target)
                        pos += len(b)
                except _CONN_ERRORS as e:
                    if attempt >= self.retries:
                        raise TransportError("download %s: %s" % (f["path"], e)) from e
                    self._sleep(self._delay(attempt, None))
                    attempt += 1
                finally:
                    resp.close()
            out.flush()
            os.fsync(out.fileno())


# ---------------------------------------------------------------------------
# Module helpers of push and pull
# ---------------------------------------------------------------------------


def _scan(root: str, prefix: str) -> List[_LocalFile]:
    """The regular files under root (symlinks to files followed), with their
    paths in the version, sorted."""
    if not os.path.isdir(root):
        raise NotADirectoryError(root)
    prefix = prefix.strip("/")
    out: List[_LocalFile] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            local = os.path.join(dirpath, name)
            if not os.path.isfile(local):
                continue
            rel = os.path.relpath(local, root).replace(os.sep, "/")
            path = prefix + "/" + rel if prefix else rel
            _check_file_path(path)
            out.append(_LocalFile(path=path, local=local, size=os.path.getsize(local)))
    out.sort(key=lambda f: f.path.encode("utf-8"))
    return out


def _write(out: IO[bytes], b: bytes, target: str) -> None:
    """Writes downloaded bytes; a failure is local (disk full, ...), not the network's."""
    try:
        out.write(b)
    except OSError as e:
        raise _LocalIOError("write %s: %s" % (target, e)) from e


def _notifier(progress: Optional[Progress]) -> Progress:
    if progress is None:
        return lambda e: None
    lock = threading.Lock()

    def notify(e: TransferEvent) -> None:
        with lock:
            progress(e)

    return notify


def _run_all(pool: concurrent.futures.Executor, tasks: Sequence[Tuple[str, Callable[[], Any]]], failures: Dict[str, BaseException]) -> None:
    """Runs tasks in the pool; at the first failure the tasks not started are
    cancelled and the running ones finish. Failures are recorded by name."""
    futures = {pool.submit(fn): name for name, fn in tasks}
    pending = set(futures)
    while pending:
        done, pending = concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_EXCEPTION)
        failed = False
        for fut in done:
            err = fut.exception() if not fut.cancelled() else None
            if err is not None:
                failures.setdefault(futures[fut], err)
                failed = True
        if failed:
            for fut in pending:
                fut.cancel()
            concurrent.futures.wait(pending)
            for fut in pending:
                if not fut.cancelled() and fut.exception() is not None:
                    failures.setdefault(futures[fut], fut.exception())  # type: ignore[arg-type]
            return


def _failure_message(failures: Mapping[str, BaseException]) -> str:
    first = sorted(failures)[0]
    more = " (and %d more)" % (len(failures) - 1) if len(failures) > 1 else ""
    return "push incomplete: %s: %s%s; push again to resume" % (first, failures[first], more)


def _check_file_record(rec: Mapping[str, Any], path: str, size: int, sha256: str) -> None:
    if rec.get("path") != path or rec.get("size") != size or rec.get("sha256") != sha256:
        raise VerificationError(
            "%s: the server recorded %s (%s bytes, SHA-256 %s), sent %d bytes with %s"
            % (path, rec.get("path"), rec.get("size"), rec.get("sha256"), size, sha256),
            path=path,
            expected=sha256,
            actual=rec.get("sha256"),
        )


def _verify_local(target: str, f: Mapping[str, Any]) -> None:
    size = os.path.getsize(target)
    got = sha256_file(target)
    if size != int(f["size"]) or got != f["sha256"]:
        raise VerificationError(
            "%s: downloaded %d bytes with SHA-256 %s, the manifest says %d bytes with %s" % (f["path"], size, got, f["size"], f["sha256"]),
            path=f["path"],
            expected=f["sha256"],
            actual=got,
        )


def _make_temp_dir(parent: str, base: str) -> str:
    """A new hidden directory beside the destination (same file system, so the
    final rename is atomic), made with the process's umask."""
    for _ in range(100):
        p = os.path.join(parent, ".%s.pull-%s" % (base, secrets.token_hex(6)))
        try:
            os.mkdir(p)
            return p
        except FileExistsError:
            continue
    raise ModelkeepError("could not make a temporary directory in %s" % parent)


def _fsync_dir(path: str) -> None:
    """Makes a directory's entries durable where the system allows it."""
    if os.name != "posix":
        return
    for dirpath, _, _ in os.walk(path):
        _fsync_one_dir(dirpath)


def _fsync_one_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _suppress_os_error:
    def __enter__(self) -> None:
        return None

    def __exit__(self, typ: Any, val: Any, tb: Any) -> bool:
        return typ is not None and issubclass(typ, OSError)
