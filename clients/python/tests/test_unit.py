"""Tests of the client that need no Modelkeep server: the manifest digest,
path rules, error mapping, retries and redirects, against a scripted HTTP
server on loopback."""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import tempfile
import threading
import unittest
from typing import Any, Dict, List, Optional, Tuple

import modelkeep


class ManifestDigestTest(unittest.TestCase):
    def test_same_as_the_server(self) -> None:
        # The vector of TestManifestDigest in the server's rules_test.go.
        files = [
            {"path": "b/weights.bin", "size": 10, "sha256": "b" * 64},
            {"path": "a.json", "size": 2, "sha256": "a" * 64},
            {"path": "B.txt", "size": 0, "sha256": "c" * 64},
        ]
        want = "sha256:5bc9d37ec20c7f5fcd81119354ed4fc64f8543eefc05406fc61338140878d2e1"
        self.assertEqual(modelkeep.manifest_digest(files), want)
        self.assertEqual(modelkeep.manifest_digest(reversed(files)), want)

    def test_sorted_bytewise(self) -> None:
        # UTF-8 byte order: "Z" < "a" < "é".
        files = [{"path": p, "size": 1, "sha256": "0" * 64} for p in ("é", "a", "Z")]
        lines = "".join("%s  1  %s\n" % ("0" * 64, p) for p in ("Z", "a", "é"))
        self.assertEqual(modelkeep.manifest_digest(files), "sha256:" + hashlib.sha256(lines.encode()).hexdigest())

    def test_sha256_file(self) -> None:
        with tempfile.NamedTemporaryFile(delete=False) as f:
            f.write(b"x" * (3 * modelkeep.MiB + 7))
        try:
            self.assertEqual(modelkeep.sha256_file(f.name), hashlib.sha256(b"x" * (3 * modelkeep.MiB + 7)).hexdigest())
        finally:
            os.remove(f.name)


class PathRulesTest(unittest.TestCase):
    def test_refused(self) -> None:
        for p in ["", "/etc/passwd", "a//b", "a/../b", "..", "./a", "a/.", "a\\b", "a\nb", "a/"]:
            with self.subTest(path=p), self.assertRaises(ValueError):
                modelkeep._check_file_path(p)

    def test_accepted(self) -> None:
        for p in ["a", "weights/model.safetensors", "notes/résumé draft.md", ".hidden/x"]:
            with self.subTest(path=p):
                modelkeep._check_file_path(p)

    def test_local_path_stays_inside(self) -> None:
        root = tempfile.mkdtemp()
        try:
            self.assertEqual(modelkeep._local_path(root, "a/b.bin"), os.path.join(root, "a", "b.bin"))
            with self.assertRaises(ValueError):
                modelkeep._local_path(root, "../x")
        finally:
            os.rmdir(root)


# --- a scripted HTTP server ---

Reply = Tuple[int, Dict[str, str], bytes]
DROP = "drop"  # close the connection without an answer


class Stub:
    """Answers each request with the next scripted reply for its path (the
    last one repeats) and records the requests."""

    def __init__(self) -> None:
        self.script: Dict[str, List[Any]] = {}
        self.requests: List[Tuple[str, str, Dict[str, str], bytes]] = []
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def handle_any(self) -> None:
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                path = self.path.split("?", 1)[0]
                stub.requests.append((self.command, self.path, dict(self.headers), body))
                replies = stub.script.get(path) or [(404, {}, b'{"error":{"code":"not_found","message":"no script"}}')]
                reply = replies.pop(0) if len(replies) > 1 else replies[0]
                if reply == DROP:
                    self.close_connection = True
                    return
                status, headers, data = reply
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = handle_any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def calls(self, path: str) -> int:
        return sum(1 for r in self.requests if r[1].split("?", 1)[0] == path)


def jbody(obj: Any) -> bytes:
    return json.dumps(obj).encode()


JSON = {"Content-Type": "application/json"}


def err(status: int, code: str, message: str, **extra: Any) -> Reply:
    return status, JSON, jbody({"error": dict({"code": code, "message": message}, **extra)})


class StubTestCase(unittest.TestCase):
    def setUp(self) -> None:
        self.stub = Stub()
        self.addCleanup(self.stub.close)
        self.sleeps: List[float] = []
        self.client = self.make_client()

    def make_client(self, **kw: Any) -> modelkeep.Client:
        kw.setdefault("retries", 3)
        c = modelkeep.Client(self.stub.url, token="tok", **kw)
        c._sleep = self.sleeps.append  # record the waits instead of waiting
        return c


class ErrorsTest(StubTestCase):
    def test_error_json_becomes_typed_errors(self) -> None:
        cases = [
            (400, "invalid_argument", modelkeep.BadRequest),
            (401, "unauthenticated", modelkeep.Unauthenticated),
            (403, "forbidden", modelkeep.Forbidden),
            (403, "csrf_failed", modelkeep.Forbidden),
            (404, "not_found", modelkeep.NotFound),
            (409, "conflict", modelkeep.Conflict),
            (412, "precondition_failed", modelkeep.PreconditionFailed),
            (413, "too_large", modelkeep.TooLarge),
            (422, "digest_mismatch", modelkeep.DigestMismatch),
            (500, "internal", modelkeep.ServerError),
        ]
        for status, code, cls in cases:
            with self.subTest(code=code):
                self.stub.script["/api/v1/models/m"] = [err(status, code, "the message")]
                with self.assertRaises(cls) as cm:
                    self.client.get_model("m")
                e = cm.exception
                self.assertIsInstance(e, modelkeep.APIError)
                self.assertEqual((e.status, e.code, e.message), (status, code, "the message"))
                self.assertIn("the message", str(e))

    def test_gates_and_requirements(self) -> None:
        gates = [{"gate": "auc >= 0.9", "passed": False, "detail": "auc is 0.5"}]
        self.stub.script["/api/v1/transitions/t1/approve"] = [
            err(412, "precondition_failed", "gates failed", failed_gates=gates, missing_requirements=["A9-1"])
        ]
        with self.assertRaises(modelkeep.PreconditionFailed) as cm:
            self.client.approve_transition("t1", "ok")
        self.assertEqual(cm.exception.failed_gates, gates)
        self.assertEqual(cm.exception.missing_requirements, ["A9-1"])
        self.assertIn("auc is 0.5", str(cm.exception))

    def test_not_json(self) -> None:
        self.stub.script["/api/v1/models/m"] = [(502, {"Content-Type": "text/html"}, b"<html>bad gateway</html>")]
        with self.assertRaises(modelkeep.ServerError) as cm:
            self.client.get_model("m")
        self.assertEqual(cm.exception.status, 502)
        self.assertIn("bad gateway", cm.exception.message)

    def test_sends_the_token_and_json(self) -> None:
        self.stub.script["/api/v1/models"] = [(201, JSON, jbody({"name": "m"}))]
        self.client.create_model("m", description="d", tags={"team": "risk"})
        method, path, headers, body = self.stub.requests[-1]
        self.assertEqual((method, path), ("POST", "/api/v1/models"))
        self.assertEqual(headers.get("Authorization"), "Bearer tok")
        self.assertEqual(json.loads(body), {"name": "m", "description": "d", "tags": {"team": "risk"}})


class RetryTest(StubTestCase):
    def test_503_with_retry_after(self) -> None:
        self.stub.script["/api/v1/models/m"] = [
            err(503, "unavailable", "busy"),
            (503, dict(JSON, **{"Retry-After": "7"}), jbody({"error": {"code": "unavailable", "message": "busy"}})),
            (200, JSON, jbody({"name": "m"})),
        ]
        self.assertEqual(self.client.get_model("m")["name"], "m")
        self.assertEqual(self.stub.calls("/api/v1/models/m"), 3)
        self.assertEqual(len(self.sleeps), 2)
        self.assertEqual(self.sleeps[1], 7.0)  # the server's Retry-After

    def test_429_is_retried_for_posts_too(self) -> None:
        self.stub.script["/api/v1/models/m/versions/1/transitions"] = [
            (429, {"Retry-After": "1"}, b""),
            (201, JSON, jbody({"id": "t", "status": "pending"})),
        ]
        self.assertEqual(self.client.request_transition("m", 1, "production")["status"], "pending")
        self.assertEqual(self.sleeps, [1.0])

    def test_gives_up(self) -> None:
        self.stub.script["/api/v1/models/m"] = [(503, dict(JSON, **{"Retry-After": "2"}), jbody({"error": {"code": "unavailable", "message": "db down"}}))]
        with self.assertRaises(modelkeep.Unavailable) as cm:
            self.client.get_model("m")
        self.assertEqual(cm.exception.retry_after, 2.0)
        self.assertEqual(self.stub.calls("/api/v1/models/m"), 4)  # 1 + 3 retries

    def test_retry_after_is_capped(self) -> None:
        c = self.make_client(max_retry_after=5)
        self.stub.script["/api/v1/models/m"] = [(503, {"Retry-After": "3600"}, b""), (200, JSON, jbody({"name": "m"}))]
        c.get_model("m")
        self.assertEqual(self.sleeps, [5])

    def test_backoff_grows(self) -> None:
        c = self.make_client(backoff=1, max_backoff=3, retries=4)
        self.stub.script["/api/v1/models/m"] = [(503, {}, b"")] * 4 + [(200, JSON, jbody({"name": "m"}))]
        c.get_model("m")
        self.assertEqual(len(self.sleeps), 4)
        for s, cap in zip(self.sleeps, [1, 2, 3, 3]):
            self.assertTrue(cap / 2 <= s <= cap, self.sleeps)

    def test_connection_errors_retried_when_safe(self) -> None:
        self.stub.script["/api/v1/models/m"] = [DROP, (200, JSON, jbody({"name": "m"}))]
        self.assertEqual(self.client.get_model("m")["name"], "m")
        self.assertEqual(self.stub.calls("/api/v1/models/m"), 2)

    def test_connection_errors_not_retried_when_unsafe(self) -> None:
        # A broken POST of metrics may have been recorded: not sent twice.
        self.stub.script["/api/v1/models/m/versions/1/metrics"] = [DROP, (201, JSON, jbody({"metrics": []}))]
        with self.assertRaises(modelkeep.TransportError):
            self.client.log_metrics("m", 1, {"auc": 0.9})
        self.assertEqual(self.stub.calls("/api/v1/models/m/versions/1/metrics"), 1)

    def test_unreachable(self) -> None:
        c = modelkeep.Client("http://127.0.0.1:9", token="t", retries=1)  # discard port: refused
        c._sleep = self.sleeps.append
        with self.assertRaises(modelkeep.TransportError):
            c.get_model("m")
        self.assertEqual(len(self.sleeps), 1)

    def test_finalize_retried_after_a_lost_answer(self) -> None:
        # The first finalize went through but its answer was lost: the retry
        # meets 409, and the client returns the ready version.
        ready = {"model": "m", "version": 1, "status": "ready", "manifest_digest": "sha256:" + "a" * 64}
        self.stub.script["/api/v1/models/m/versions/1/finalize"] = [DROP, err(409, "conflict", "version is ready")]
        self.stub.script["/api/v1/models/m/versions/1"] = [(200, JSON, jbody(ready))]
        self.assertEqual(self.client.finalize("m", 1), ready)


class DownloadTest(StubTestCase):
    def test_presigned_redirect_gets_no_token(self) -> None:
        data = b"weights" * 1000
        sha = hashlib.sha256(data).hexdigest()
        base = "/api/v1/models/m/versions/1"
        self.stub.script[base + "/files"] = [(200, JSON, jbody({"files": [{"path": "w.bin", "size": len(data), "sha256": sha}]}))]
        self.stub.script[base + "/files/w.bin"] = [(307, {"Location": self.stub.url + "/bucket/obj?X-Amz-Signature=s"}, b"")]
        self.stub.script["/bucket/obj"] = [(200, {}, data)]
        dest = os.path.join(tempfile.mkdtemp(), "w.bin")
        self.client.download_file("m", 1, "w.bin", dest, presigned=True)
        with open(dest, "rb") as f:
            self.assertEqual(f.read(), data)
        blob = [r for r in self.stub.requests if r[1].startswith("/bucket/obj")]
        self.assertEqual(len(blob), 1)
        self.assertNotIn("Authorization", blob[0][2])
        api = [r for r in self.stub.requests if r[1].startswith(base + "/files/w.bin")]
        self.assertEqual(api[0][1], base + "/files/w.bin?redirect=true")
        self.assertEqual(api[0][2].get("Authorization"), "Bearer tok")

    def test_broken_download_resumes_with_range(self) -> None:
        data = bytes(range(256)) * 64
        sha = hashlib.sha256(data).hexdigest()
        base = "/api/v1/models/m/versions/1"
        self.stub.script[base + "/files"] = [(200, JSON, jbody({"files": [{"path": "w.bin", "size": len(data), "sha256": sha}]}))]
        # The first answer promises the whole file and sends half of it
        # (Content-Length is the real one: the stub sends len(body)); the
        # client notices the short body only by the manifest's size, so the
        # stub's first answer is a 200 of half the bytes.
        self.stub.script[base + "/files/w.bin"] = [
            (200, {"X-Checksum-Sha256": sha}, data[:5000]),
            (206, {"Content-Range": "bytes 5000-%d/%d" % (len(data) - 1, len(data)), "X-Checksum-Sha256": sha}, data[5000:]),
        ]
        dest = os.path.join(tempfile.mkdtemp(), "w.bin")
        self.client.download_file("m", 1, "w.bin", dest)
        with open(dest, "rb") as f:
            self.assertEqual(f.read(), data)
        second = [r for r in self.stub.requests if r[1] == base + "/files/w.bin"][1]
        self.assertEqual(second[2].get("Range"), "bytes=5000-")
        self.assertEqual(second[2].get("If-Range"), '"%s"' % sha)

    def test_checksum_header_disagreeing_with_manifest(self) -> None:
        data = b"abc"
        base = "/api/v1/models/m/versions/1"
        self.stub.script[base + "/files"] = [(200, JSON, jbody({"files": [{"path": "a", "size": 3, "sha256": hashlib.sha256(data).hexdigest()}]}))]
        self.stub.script[base + "/files/a"] = [(200, {"X-Checksum-Sha256": "f" * 64}, data)]
        d = tempfile.mkdtemp()
        with self.assertRaises(modelkeep.VerificationError):
            self.client.download_file("m", 1, "a", os.path.join(d, "a"))
        self.assertEqual(os.listdir(d), [])

    def test_pull_refuses_a_manifest_that_does_not_add_up(self) -> None:
        files = [{"path": "a", "size": 3, "sha256": "0" * 64}]
        staged = {"model": "m", "version": 2, "status": "ready", "manifest_digest": "sha256:" + "1" * 64, "files": files}
        self.stub.script["/api/v1/models/m/stages/production"] = [(200, JSON, jbody(staged))]
        parent = tempfile.mkdtemp()
        with self.assertRaises(modelkeep.VerificationError):
            self.client.pull("m", os.path.join(parent, "out"), stage="production")
        self.assertEqual(os.listdir(parent), [])

    def test_pull_refuses_paths_leaving_the_directory(self) -> None:
        files = [{"path": "../evil", "size": 1, "sha256": "0" * 64}]
        staged = {"model": "m", "version": 2, "status": "ready", "manifest_digest": modelkeep.manifest_digest(files), "files": files}
        self.stub.script["/api/v1/models/m/stages/production"] = [(200, JSON, jbody(staged))]
        parent = tempfile.mkdtemp()
        with self.assertRaises(ValueError):
            self.client.pull("m", os.path.join(parent, "out"), stage="production")
        self.assertEqual(os.listdir(parent), [])


if __name__ == "__main__":
    unittest.main()
