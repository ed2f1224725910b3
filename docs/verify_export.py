#!/usr/bin/env python3
"""Verify a Modelkeep audit log export (JSON Lines) independently of Modelkeep.

    python3 verify_export.py audit.jsonl modelkeep-audit.pub.pem [more.pub.pem ...]

A reference implementation of docs/audit.md section 5, written from the
specification only: Python 3.9+ standard library, plus the `cryptography`
package for Ed25519. Exit status 0 when the export verifies, 1 when not.
"""

import base64
import decimal
import hashlib
import json
import re
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
GENESIS = "0" * 64
EVENT_FIELDS = {"seq", "time", "actor", "action", "resource", "outcome",
                "request_id", "remote_addr", "details", "prev_hash", "hash"}


# --- RFC 8785 (JCS) ---------------------------------------------------------

def jcs_number(x):
    """An IEEE 754 double as ECMAScript's Number.prototype.toString writes it."""
    if isinstance(x, int):
        x = float(x)
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError("NaN and infinities are not JSON")
    if x == 0:
        return "0"
    sign, digits, exp = decimal.Decimal(repr(abs(x))).as_tuple()
    n = len(digits) + exp              # x = 0.d1d2... * 10^n
    ds = "".join(map(str, digits)).rstrip("0")
    k = len(ds)
    s = "-" if x < 0 else ""
    if k <= n <= 21:
        return s + ds + "0" * (n - k)
    if 0 < n <= 21:
        return s + ds[:n] + "." + ds[n:]
    if -6 < n <= 0:
        return s + "0." + "0" * -n + ds
    e = n - 1
    return s + ds[0] + ("." + ds[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))


def jcs(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return jcs_number(v)
    if isinstance(v, str):
        # json.dumps escapes exactly what RFC 8785 escapes when ensure_ascii is off.
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ",".join(jcs(e) for e in v) + "]"
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(jcs(k) + ":" + jcs(v[k]) for k in keys) + "}"
    raise TypeError(type(v))


# --- the export --------------------------------------------------------------

def key_id(pub):
    raw = pub.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def verified(keys, key, message, signature):
    pub = keys.get(key)
    if pub is None:
        return None  # unknown key: proves nothing
    try:
        pub.verify(base64.b64decode(signature, validate=True), message.encode())
        return True
    except (InvalidSignature, ValueError):
        return False


def checkpoint_message(c):
    return "modelkeep-audit-checkpoint/v1\n%d\n%s\n%s\n" % (c["seq"], c["hash"], c["time"])


class Broken(Exception):
    def __init__(self, seq, reason):
        super().__init__("BROKEN at seq %d: %s" % (seq, reason))


def verify(lines, keys):
    records = [json.loads(line) for line in lines if line.strip()]
    if not records or "header" not in records[0]:
        raise SystemExit("not a modelkeep audit export")
    h = records[0]["header"]
    if h.get("format") != "modelkeep-audit-export" or h.get("version") != 1:
        raise SystemExit("not a modelkeep audit export, version 1")
    first, last = h["first_seq"], h["last_seq"]
    nxt, prev, i = first, GENESIS, 1
    anchor = None
    if first > 1:
        c = records[1].get("checkpoint") if len(records) > 1 else None
        if not c or c["seq"] != first - 1 or verified(keys, c["key_id"], checkpoint_message(c), c["signature"]) is not True:
            raise Broken(1, "no valid signed prune anchor before seq %d" % first)
        prev, anchor, i = c["hash"], c["seq"], 2
    prune_seen = anchor is None
    checkpoints = 0
    for rec in records[i:]:
        if "end" in rec:
            s = rec["end"]
            msg = "modelkeep-audit-export/v1\n%d\n%d\n%s\n%s\n" % (s["first_seq"], s["last_seq"], s["head"], s["time"])
            if verified(keys, s["key_id"], msg, s["signature"]) is not True:
                raise Broken(nxt, "the seal is not signed by a trusted key")
            if (s["first_seq"], s["last_seq"]) != (first, last) or s["events"] != last - first + 1:
                raise Broken(nxt, "the header does not match the seal")
            if nxt - 1 != last:
                raise Broken(nxt, "events missing before the seal")
            if prev != s["head"]:
                raise Broken(last, "the last event is not the sealed head")
            if not prune_seen:
                raise Broken(1, "no audit.prune event names the anchor")
            if rec is not records[-1]:
                raise Broken(nxt, "data after the seal")
            return last - first + 1, checkpoints
        if "checkpoint" in rec:
            c = rec["checkpoint"]
            if c["seq"] != nxt - 1 or c["hash"] != prev:
                raise Broken(c["seq"], "event does not match its signed checkpoint")
            ok = verified(keys, c["key_id"], checkpoint_message(c), c["signature"])
            if ok is False:
                raise Broken(c["seq"], "bad checkpoint signature")
            checkpoints += ok is True
            continue
        e = rec
        if set(e) != EVENT_FIELDS:
            raise Broken(nxt, "not an event record")
        if e["seq"] != nxt:
            raise Broken(nxt, "event %d is missing or out of order" % nxt)
        if e["prev_hash"] != prev:
            raise Broken(nxt, "prev_hash does not link")
        if not TIME_RE.match(e["time"]):
            raise Broken(nxt, "time not in canonical form")
        body = {k: v for k, v in e.items() if k not in ("prev_hash", "hash")}
        digest = hashlib.sha256((prev + jcs(body)).encode()).hexdigest()
        if digest != e["hash"]:
            raise Broken(nxt, "content does not match its hash")
        if anchor is not None and e["action"] == "audit.prune" and e["details"].get("through_seq") == anchor:
            prune_seen = True
        prev, nxt = e["hash"], nxt + 1
    raise Broken(nxt, "no seal: the export was cut after event %d" % (nxt - 1))


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    keys = {}
    for path in sys.argv[2:]:
        with open(path, "rb") as f:
            pub = load_pem_public_key(f.read())
        keys[key_id(pub)] = pub
    with open(sys.argv[1], encoding="utf-8") as f:
        try:
            events, checkpoints = verify(f, keys)
        except Broken as b:
            print(b)
            sys.exit(1)
    print("OK: %d events, %d checkpoints verified" % (events, checkpoints))


if __name__ == "__main__":
    main()
