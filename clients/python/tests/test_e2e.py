"""End-to-end tests of the client against a running Modelkeep.

They need the server's URL and three tokens, in the environment:

    MODELKEEP_URL               http://127.0.0.1:8080
    MODELKEEP_PUBLISHER_TOKEN   a publisher's token (pushes, finalizes, requests transitions)
    MODELKEEP_APPROVER_TOKEN    an approver's token (another subject: approves, sets aliases)
    MODELKEEP_DEPLOYER_TOKEN    a deployer's token (pulls released versions, records deployments)

MODELKEEP_TEST_BACKEND (``sqlite+fs``, ``mysql+s3``), when set, says whether
downloads with ``presigned=True`` must come from the blob store.

Without them the tests are skipped (or fail, when MODELKEEP_TEST_REQUIRE_SERVER
is set, as the Go test that runs them sets it). They make their own models
with random names, so they can run against any server. For the resumable
uploads to have several parts, the server's --upload-part-size should be its
minimum, 5MiB (the files here are sized from the session's part size, so a
larger one works too, only slower).
"""

from __future__ import annotations

import datetime
import hashlib
import http.client
import http.server
import os
import random
import secrets
import shutil
import tempfile
import threading
import unittest
import urllib.parse
from typing import Any, Dict, List, Optional

import modelkeep

URL = os.environ.get("MODELKEEP_URL", "")
PUBLISHER = os.environ.get("MODELKEEP_PUBLISHER_TOKEN", "")
APPROVER = os.environ.get("MODELKEEP_APPROVER_TOKEN", "")
DEPLOYER = os.environ.get("MODELKEEP_DEPLOYER_TOKEN", "")
MiB = modelkeep.MiB
PART = 5 * MiB  # the server's smallest part size: the tests' server uses it


def setUpModule() -> None:
    missing = [n for n, v in [("MODELKEEP_URL", URL), ("MODELKEEP_PUBLISHER_TOKEN", PUBLISHER),
                              ("MODELKEEP_APPROVER_TOKEN", APPROVER), ("MODELKEEP_DEPLOYER_TOKEN", DEPLOYER)] if not v]
    if missing:
        why = "set %s to run the end-to-end tests against a server" % ", ".join(missing)
        if os.environ.get("MODELKEEP_TEST_REQUIRE_SERVER"):
            raise RuntimeError(why)
        raise unittest.SkipTest(why)


def client(token: str, url: Optional[str] = None, **kw: Any) -> modelkeep.Client:
    kw.setdefault("multipart_threshold", PART)  # files of a part or more go as resumable uploads
    kw.setdefault("timeout", 30)
    return modelkeep.Client(url or URL, token=token, **kw)


def unique(prefix: str) -> str:
    return "%s-%s" % (prefix, secrets.token_hex(4))


def make_tree(root: str, big: int, seed: int = 1) -> Dict[str, bytes]:
    """A model directory: a large file of ``big`` bytes (several parts), a few
    small ones, an empty one and a path that needs escaping in URLs."""
    rnd = random.Random(seed)
    files = {
        "config.json": b'{"layers": 12, "hidden": 768}\n',
        "weights/model.bin": rnd.randbytes(big),
        "weights/empty.bin": b"",
        "tokenizer/vocab.txt": "\n".join("tok%d" % i for i in range(5000)).encode(),
        "notes/résumé draft #1.md": "# Notes\nTrained on 2026-11.\n".encode(),
    }
    for path, data in files.items():
        full = os.path.join(root, *path.split("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)
    return files


def read_tree(root: str) -> Dict[str, bytes]:
    out = {}
    for dirpath, _, names in os.walk(root):
        for n in names:
            full = os.path.join(dirpath, n)
            with open(full, "rb") as f:
                out[os.path.relpath(full, root).replace(os.sep, "/")] = f.read()
    return out


def manifest_of(files: Dict[str, bytes]) -> str:
    """The manifest digest as sha256sum would give it, computed apart from the client."""
    lines = "".join("%s  %d  %s\n" % (hashlib.sha256(d).hexdigest(), len(d), p) for p, d in sorted(files.items(), key=lambda kv: kv[0].encode()))
    return "sha256:" + hashlib.sha256(lines.encode()).hexdigest()


class E2E(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = tempfile.mkdtemp(prefix="modelkeep-pytest-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.pub = client(PUBLISHER)
        self.appr = client(APPROVER)
        self.dep = client(DEPLOYER)

    def tree(self, big: int, seed: int = 1) -> Dict[str, bytes]:
        src = os.path.join(self.tmp, "src")
        return make_tree(src, big, seed)

    def ready_version(self, files: Dict[str, bytes]) -> Dict[str, Any]:
        """A new model with one finalized version of files (pushed from a directory)."""
        name = unique("pyclient")
        src = os.path.join(self.tmp, "src-" + name)
        for path, data in files.items():
            full = os.path.join(src, *path.split("/"))
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as f:
                f.write(data)
        self.pub.create_model(name)
        v = self.pub.create_version(name)
        res = self.pub.push(name, v["version"], src)
        return dict(self.pub.finalize(name, v["version"], expect_manifest_digest=res.manifest_digest))

    def assertNoLeftovers(self, parent: str, keep: List[str]) -> None:
        self.assertEqual(sorted(os.listdir(parent)), sorted(keep), "temporary directories left behind")


class TrainingToDeploymentTest(E2E):
    """A training job pushes, finalizes and asks for production; a second
    person approves; a deploy pipeline pulls by stage and by alias, verified,
    and records the deployment."""

    def test_push_finalize_promote_pull(self) -> None:
        name = unique("pyclient-fraud")
        files = self.tree(big=2 * PART + 12345)  # three parts
        src = os.path.join(self.tmp, "src")

        # --- the training job (publisher) ---
        m = self.pub.create_model(name, description="card fraud scoring", tags={"team": "risk"})
        self.assertEqual(m["name"], name)
        self.assertEqual(self.pub.create_model(name, exist_ok=True)["name"], name)
        with self.assertRaises(modelkeep.Conflict):
            self.pub.create_model(name)

        data_sha = hashlib.sha256(b"the training data").hexdigest()
        ds_name = unique("pyclient-transactions")
        ds = self.pub.register_dataset(ds_name, "2026-11", uri="s3://data/tx/2026-11", sha256=data_sha, size=17, license="internal")
        self.assertEqual((ds["name"], ds["version"], ds["sha256"]), (ds_name, "2026-11", data_sha))
        self.assertEqual(self.pub.register_dataset(ds_name, "2026-11", sha256=data_sha)["uri"], "s3://data/tx/2026-11")  # idempotent

        run_id = unique("run")
        started = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        run = self.pub.register_run(
            run_id, kind="training", started_at=started, code_repo="https://git.example.com/fraud", code_commit="abc123",
            parameters={"lr": 0.05, "epochs": 3}, environment={"framework": "pytorch", "framework_version": "2.5.1"},
            inputs=[{"name": ds_name, "version": "2026-11", "role": "training"}],
        )
        self.assertEqual(run["run_id"], run_id)
        self.assertEqual(run["parameters"], {"lr": "0.05", "epochs": "3"})

        v = self.pub.create_version(
            name, description="gbdt, 400 trees", tags={"framework": "xgboost"}, params={"lr": 0.05, "trees": 400},
            run_id=run_id, git_commit="abc123", datasets=[{"name": ds_name, "version": "2026-11", "role": "training"}],
        )
        number = v["version"]
        self.assertEqual((v["status"], v["params"]), ("pending", {"lr": "0.05", "trees": "400"}))

        events: List[modelkeep.TransferEvent] = []
        res = self.pub.push(name, number, src, progress=events.append)
        self.assertEqual(sorted(res.uploaded), sorted(files))
        self.assertEqual(res.skipped, [])
        self.assertEqual(res.manifest_digest, manifest_of(files))
        big = [e for e in events if e.path == "weights/model.bin"]
        self.assertEqual([e.kind for e in big if e.kind != "part_uploaded"], ["upload_started", "file_uploaded"])
        self.assertEqual(sorted(e.part for e in big if e.kind == "part_uploaded"), [1, 2, 3])
        listing = self.pub.list_files(name, number)
        self.assertEqual({f["path"]: f["sha256"] for f in listing["files"]}, {p: hashlib.sha256(d).hexdigest() for p, d in files.items()})

        again = self.pub.push(name, number, src)  # nothing to send
        self.assertEqual((again.uploaded, sorted(again.skipped)), ([], sorted(files)))

        metrics = self.pub.log_metrics(name, number, {"auc": 0.95, "loss": 0.21}, step=400, dataset="holdout", split="test", run_id=run_id)
        self.assertEqual(sorted(p["key"] for p in metrics), ["auc", "loss"])
        self.pub.log_metric(name, number, "auc", 0.951, step=401, dataset="holdout", split="test")
        self.assertEqual([p["value"] for p in self.pub.list_metrics(name, number, key="auc")], [0.95, 0.951])

        fin = self.pub.finalize(name, number, expect_manifest_digest=res.manifest_digest)
        self.assertEqual((fin["status"], fin["manifest_digest"]), ("ready", manifest_of(files)))
        self.assertEqual(self.pub.finalize(name, number)["status"], "ready")  # again: the ready version
        self.pub.register_run(run_id, output_artifact_sha256=fin["manifest_digest"], ended_at=datetime.datetime.now(datetime.timezone.utc))

        tr = self.pub.request_transition(name, number, "production", comment="beats the baseline on holdout")
        self.assertEqual((tr["status"], tr["to"], tr["manifest_digest"]), ("pending", "production", fin["manifest_digest"]))

        # --- governance: four eyes ---
        with self.assertRaises(modelkeep.Forbidden) as cm:
            self.pub.approve_transition(tr["id"], "my own work")
        self.assertEqual((cm.exception.status, cm.exception.code), (403, "forbidden"))
        with self.assertRaises(modelkeep.NotFound):
            self.dep.version_in_stage(name, "production")
        pending = [t["id"] for t in self.appr.list_transitions(status="pending", model=name)]
        self.assertEqual(pending, [tr["id"]])
        ok = self.appr.approve_transition(tr["id"], "reviewed the holdout report")
        self.assertEqual(ok["status"], "approved")
        self.assertEqual(self.appr.get_transition(tr["id"])["decided_by"], ok["decided_by"])
        alias = self.appr.set_alias(name, "champion", number)
        self.assertEqual(alias["version"], number)
        self.assertEqual(self.dep.get_alias(name, "champion")["version"], number)

        # --- the deploy pipeline (deployer) ---
        staged = self.dep.version_in_stage(name, "production")
        self.assertEqual((staged["version"], staged["stage"]), (number, "production"))
        out = os.path.join(self.tmp, "deploy")
        os.makedirs(out)
        got = self.dep.pull(name, os.path.join(out, "prod"), stage="production")
        self.assertEqual((got.version, got.manifest_digest), (number, fin["manifest_digest"]))
        self.assertEqual(read_tree(got.path), files)

        got = self.dep.pull(name, os.path.join(out, "champion"), alias="champion", chunk_size=MiB, parallel=3)
        self.assertEqual(read_tree(got.path), files)

        blob_gets: List[str] = []
        real_request = self.dep._request

        def spy(method: str, path: str, **kw: Any) -> Any:
            if kw.get("absolute"):
                blob_gets.append(path)
            return real_request(method, path, **kw)

        self.dep._request = spy  # type: ignore[method-assign]
        got = self.dep.pull(name, os.path.join(out, "v"), version=number, presigned=True, expect_manifest_digest=fin["manifest_digest"])
        self.assertEqual(read_tree(got.path), files)
        backend = os.environ.get("MODELKEEP_TEST_BACKEND", "")
        if backend.endswith("+s3"):  # the bytes came from the bucket, through presigned URLs
            self.assertEqual(len(blob_gets), len(files), blob_gets)
        elif backend.endswith("+fs"):  # the file store has no presigned URLs: the server streams
            self.assertEqual(blob_gets, [])
        del self.dep._request

        with self.assertRaises(FileExistsError):
            self.dep.pull(name, os.path.join(out, "prod"), stage="production")
        with open(os.path.join(out, "prod", "stale.txt"), "w") as f:
            f.write("from an older version")
        got = self.dep.pull(name, os.path.join(out, "prod"), stage="production", overwrite=True)
        self.assertEqual(read_tree(got.path), files)  # replaced whole: no stale file
        self.assertNoLeftovers(out, ["prod", "champion", "v"])

        d = self.dep.record_deployment(name, number, "prod-eu", strategy="canary", traffic_percent=10)
        self.assertEqual((d["model"], d["version"], d["environment"], d["traffic_percent"]), (name, number, "prod-eu", 10))
        self.assertEqual([x["id"] for x in self.dep.list_deployments(model=name)], [d["id"]])

        # Deployers pull only released versions, and change nothing.
        with self.assertRaises(modelkeep.Forbidden):
            self.dep.create_version(name)


class ResumeTest(E2E):
    """An interrupted push leaves its upload session open; pushing again
    sends only the parts the server has not received."""

    def test_interrupted_push_sends_only_missing_parts(self) -> None:
        name = unique("pyclient-resume")
        files = self.tree(big=3 * PART + 777, seed=2)  # four parts
        src = os.path.join(self.tmp, "src")
        files["weights/optimizer.bin"] = random.Random(5).randbytes(PART + 1)  # two parts
        with open(os.path.join(src, "weights", "optimizer.bin"), "wb") as f:
            f.write(files["weights/optimizer.bin"])
        parts = {"weights/model.bin": {1, 2, 3, 4}, "weights/optimizer.bin": {1, 2}}
        self.pub.create_model(name)
        number = self.pub.create_version(name)["version"]

        # The first push loses its connection on part 2 of model.bin (and
        # on parts 2 and 3 of any file that start after it): the push fails,
        # the sessions stay open.
        first = client(PUBLISHER, parallel=2)
        real = first.upload_part

        def flaky(model: str, version: int, upload_id: str, n: int, data: Any, **kw: Any) -> Any:
            if n in (2, 3):
                raise modelkeep.TransportError("PUT part %d: connection reset by peer (simulated)" % n)
            return real(model, version, upload_id, n, data, **kw)

        first.upload_part = flaky  # type: ignore[method-assign]
        with self.assertRaises(modelkeep.PushIncomplete) as cm:
            first.push(name, number, src)
        self.assertIn("weights/model.bin", cm.exception.failures)
        self.assertIsInstance(cm.exception.failures["weights/model.bin"], modelkeep.TransportError)

        sessions = {s["path"]: s for s in self.pub.list_uploads(name, number, status="open")}
        self.assertEqual(sorted(sessions), sorted(parts))
        received = {}
        for path, s in sessions.items():
            session = self.pub.get_upload(name, number, s["id"])
            self.assertEqual(session["part_count"], len(parts[path]))
            received[path] = {p["number"] for p in session["parts"]}
        self.assertIn(1, received["weights/model.bin"])
        self.assertTrue(received["weights/model.bin"].isdisjoint({2, 3}))

        # The second push (a new process, as after a crash) resumes both.
        events: List[modelkeep.TransferEvent] = []
        res = client(PUBLISHER).push(name, number, src, progress=events.append)
        for path in parts:
            with self.subTest(path=path):
                mine = [e for e in events if e.path == path]
                self.assertEqual((mine[0].kind, mine[0].part), ("upload_resumed", len(received[path])))
                self.assertEqual({e.part for e in mine if e.kind == "part_uploaded"}, parts[path] - received[path])
                self.assertEqual({e.part for e in mine if e.kind == "part_skipped"}, received[path])
                self.assertEqual(mine[-1].kind, "file_uploaded")
        # Small files the first push had sent are not sent again.
        self.assertEqual(sorted(res.uploaded + res.skipped), sorted(files))
        for e in events:
            if e.kind == "file_skipped":
                self.assertIn(e.path, res.skipped)

        self.assertEqual(list(self.pub.list_uploads(name, number, status="open")), [])
        fin = self.pub.finalize(name, number, expect_manifest_digest=manifest_of(files))
        self.assertEqual(fin["manifest_digest"], res.manifest_digest)
        got = self.pub.pull(name, os.path.join(self.tmp, "out"), version=number)
        self.assertEqual(read_tree(got.path), files)

    def test_stale_session_with_other_bytes_is_replaced(self) -> None:
        name = unique("pyclient-stale")
        self.pub.create_model(name)
        number = self.pub.create_version(name)["version"]
        # An open session for the path announcing other bytes (an earlier
        # build of the file): the push aborts it and starts afresh.
        stale = self.pub.create_upload(name, number, "weights/model.bin", PART + 1, "0" * 64)
        files = self.tree(big=PART + 10, seed=3)
        events: List[modelkeep.TransferEvent] = []
        self.pub.push(name, number, os.path.join(self.tmp, "src"), progress=events.append)
        self.assertEqual(self.pub.get_upload(name, number, stale["id"])["status"], "aborted")
        self.assertIn("upload_started", [e.kind for e in events if e.path == "weights/model.bin"])
        self.assertEqual(manifest_of(files), modelkeep.manifest_digest(self.pub.list_files(name, number)["files"]))


class CorruptingProxy:
    """Forwards GETs to the server and flips one byte in the body of every
    file download: what a bad disk, cache or middlebox would do."""

    def __init__(self, upstream: str) -> None:
        u = urllib.parse.urlsplit(upstream)
        host, port = u.hostname or "127.0.0.1", u.port or 80

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                conn = http.client.HTTPConnection(host, port, timeout=30)
                try:
                    conn.request("GET", self.path, headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
                    resp = conn.getresponse()
                    body = resp.read()
                    if "/files/" in self.path and resp.status in (200, 206) and body:
                        i = len(body) // 2
                        body = body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1 :]
                    self.send_response(resp.status)
                    for k, v in resp.getheaders():
                        if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                            self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                finally:
                    conn.close()

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class CorruptionTest(E2E):
    """A download whose bytes do not match the manifest is refused, and
    nothing appears at the destination."""

    def test_corrupted_download_is_refused(self) -> None:
        files = {"weights/model.bin": random.Random(4).randbytes(2 * MiB + 3), "config.json": b"{}"}
        v = self.ready_version(files)
        proxy = CorruptingProxy(URL)
        self.addCleanup(proxy.close)
        bad = client(PUBLISHER, url=proxy.url, retries=1)
        out = os.path.join(self.tmp, "out")
        os.makedirs(out)

        for kw in ({}, {"chunk_size": MiB // 2}):
            with self.subTest(**kw):
                with self.assertRaises(modelkeep.VerificationError) as cm:
                    bad.pull(v["model"], os.path.join(out, "model"), version=v["version"], **kw)
                self.assertIn(cm.exception.path, files)
                self.assertNoLeftovers(out, [])

        with self.assertRaises(modelkeep.VerificationError):
            bad.download_file(v["model"], v["version"], "config.json", os.path.join(out, "config.json"))
        self.assertNoLeftovers(out, [])

        # Through the server itself the same pull is fine.
        got = self.pub.pull(v["model"], os.path.join(out, "model"), version=v["version"])
        self.assertEqual(read_tree(got.path), files)

    def test_unexpected_manifest_is_refused(self) -> None:
        v = self.ready_version({"a.bin": b"a"})
        out = os.path.join(self.tmp, "out")
        with self.assertRaises(modelkeep.VerificationError) as cm:
            self.pub.pull(v["model"], out, version=v["version"], expect_manifest_digest="sha256:" + "0" * 64)
        self.assertEqual(cm.exception.actual, v["manifest_digest"])
        self.assertFalse(os.path.exists(out))

    def test_finalize_refuses_unexpected_files(self) -> None:
        name = unique("pyclient-extra")
        self.pub.create_model(name)
        number = self.pub.create_version(name)["version"]
        src = os.path.join(self.tmp, "src")
        os.makedirs(src)
        with open(os.path.join(src, "a.bin"), "wb") as f:
            f.write(b"a")
        res = self.pub.push(name, number, src)
        with open(os.path.join(src, "b.bin"), "wb") as f:
            f.write(b"b")
        self.pub.upload_file(name, number, "b.bin", os.path.join(src, "b.bin"))
        with self.assertRaises(modelkeep.VerificationError):
            self.pub.finalize(name, number, expect_manifest_digest=res.manifest_digest)
        self.assertEqual(self.pub.get_version(name, number)["status"], "pending")


class ErrorMappingTest(E2E):
    """The server's error answers arrive as typed exceptions with their details."""

    def test_errors(self) -> None:
        with self.assertRaises(modelkeep.NotFound) as cm:
            self.pub.get_model(unique("no-such-model"))
        self.assertEqual((cm.exception.status, cm.exception.code), (404, "not_found"))
        with self.assertRaises(modelkeep.BadRequest):
            self.pub.create_model("Not A Valid Name")
        with self.assertRaises(modelkeep.Unauthenticated):
            client("not-a-token").get_model("x")

        name = unique("pyclient-errors")
        self.pub.create_model(name)
        empty = self.pub.create_version(name)["version"]
        with self.assertRaises(modelkeep.PreconditionFailed):
            self.pub.finalize(name, empty)  # no files

    def test_failed_gates(self) -> None:
        v = self.ready_version({"m.bin": b"weights"})
        name, number = v["model"], v["version"]
        self.appr.set_policy(name, metric_gates=[{"key": "auc", "op": ">=", "threshold": 0.9, "dataset": "holdout"}])
        self.pub.log_metrics(name, number, {"auc": 0.5}, dataset="holdout")
        tr = self.pub.request_transition(name, number, "production")
        with self.assertRaises(modelkeep.PreconditionFailed) as cm:
            self.appr.approve_transition(tr["id"], "looks fine")
        e = cm.exception
        self.assertEqual((e.status, e.code), (412, "precondition_failed"))
        self.assertEqual(len(e.failed_gates), 1)
        self.assertFalse(e.failed_gates[0]["passed"])
        self.assertIn("auc", e.failed_gates[0]["gate"])
        rejected = self.appr.reject_transition(tr["id"], "auc too low")
        self.assertEqual(rejected["status"], "rejected")


if __name__ == "__main__":
    unittest.main()
