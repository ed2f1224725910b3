#!/usr/bin/env python3
"""Verify a Modelkeep audit log export (JSON Lines or CSV) independently of Modelkeep.

    python3 verify_export.py EXPORT PUBLIC_KEY.pem [MORE_PUBLIC_KEYS.pem ...]

EXPORT is a file written by GET /api/v1/audit/export?format=jsonl or
format=csv (the format is told by the first byte), or - for standard input.
The public keys are the trusted Ed25519 keys, PEM, obtained out of band.

A reference implementation of docs/audit.md section 5, written from the
specification only: Python 3.9+ standard library, plus the `cryptography`
package for Ed25519. It checks what `modelkeep audit verify` checks and reads
the file once, in constant memory.

Exit status: 0 when the export verifies; 1 when it does not ("BROKEN at seq
N: reason" on standard output) or the file is not an export; 2 on bad usage,
an unreadable file, a key file that is not an Ed25519 key, or without
`cryptography`. Every error is one line on standard error.
"""

import base64
import binascii
import csv
import datetime
import decimal
import hashlib
import json
import re
import sys

PROG = "verify_export.py"
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
SEQ_RE = re.compile(r"^\+?[0-9]{1,19}$")
GENESIS = "0" * 64
INT64_MAX = 2 ** 63 - 1
EVENT_FIELDS = ("seq", "time", "actor", "action", "resource", "outcome",
                "request_id", "remote_addr", "details", "prev_hash", "hash")
HEADER_FIELDS = {"format": str, "version": int, "hash_algorithm": str, "canonicalization": str,
                 "genesis_hash": str, "first_seq": int, "last_seq": int, "exported_at": str,
                 "key_id": str, "public_key": str, "specification": str}
CHECKPOINT_FIELDS = {"seq": int, "hash": str, "time": str, "kind": str, "key_id": str, "signature": str}
SEAL_FIELDS = {"first_seq": int, "last_seq": int, "events": int, "head": str, "time": str,
               "key_id": str, "signature": str}
# The CSV columns (docs/audit.md section 5), in order.
CSV_COLUMNS = ("record", "seq", "time", "actor", "action", "resource", "outcome", "request_id",
               "remote_addr", "details", "prev_hash", "hash", "key_id", "signature")
COL = {name: i for i, name in enumerate(CSV_COLUMNS)}


# --- RFC 8785 (JCS) ---------------------------------------------------------

def jcs_number(x):
    """An IEEE 754 double as ECMAScript's Number.prototype.toString writes it."""
    if isinstance(x, int):
        x = float(x)  # OverflowError beyond the doubles
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


def canonical(value):
    """The RFC 8785 text of a parsed JSON value, or ValueError."""
    try:
        return jcs(value)
    except (ValueError, TypeError, OverflowError, RecursionError, UnicodeError) as e:
        raise ValueError("not canonicalisable JSON: %s" % e)


def _no_constant(name):
    raise ValueError("%s is not JSON" % name)


def parse_json(text):
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("nested too deeply")


# --- reading the records of an export ----------------------------------------
#
# Both readers yield (kind, fields) for kind in header, checkpoint, event,
# end, with the fields checked for type, times in canonical form, signatures
# decoded and event details canonicalised. A record that cannot be read
# raises Malformed: damage, reported as broken at the seq where it is.

class Malformed(Exception):
    pass


def check_time(s, what):
    if not isinstance(s, str) or not TIME_RE.match(s):
        raise Malformed("%s: time %r: want UTC with six fractional digits, like 2025-01-02T03:04:05.000000Z" % (what, s))
    try:
        datetime.datetime.strptime(s[:-1], "%Y-%m-%dT%H:%M:%S.%f")
    except ValueError:
        raise Malformed("%s: time %r is not a valid date and time" % (what, s))
    return s


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool) and -INT64_MAX - 1 <= v <= INT64_MAX


def typed(obj, spec, what, strict=True):
    """The members of a JSON object of the types in spec; missing or null
    members take their zero value (as Go's encoding/json leaves them)."""
    if obj is None and not strict:
        obj = {}
    if not isinstance(obj, dict):
        raise Malformed("%s: not a JSON object" % what)
    out = {}
    for name, value in obj.items():
        kind = spec.get(name)
        if kind is None:
            if strict:
                raise Malformed("%s: unknown field %r" % (what, name))
            continue
        if value is None:
            continue
        if (kind is int and not is_int(value)) or (kind is str and not isinstance(value, str)):
            raise Malformed("%s: %s is not a%s" % (what, name, "n integer" if kind is int else " string"))
        out[name] = value
    for name, kind in spec.items():
        out.setdefault(name, 0 if kind is int else "")
    return out


def signature_bytes(s, what):
    try:
        return base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError) as e:
        raise Malformed("%s: signature: not base64: %s" % (what, e))


def make_checkpoint(c, what):
    check_time(c["time"], what)
    c["signature"] = signature_bytes(c["signature"], what)
    return c


def make_seal(s, what):
    check_time(s["time"], what)
    s["signature"] = signature_bytes(s["signature"], what)
    return s


def make_event(e, what):
    """e has every event field; details is the parsed JSON value."""
    if not is_int(e["seq"]):
        raise Malformed("%s: seq is not an integer" % what)
    for name in EVENT_FIELDS:
        if name not in ("seq", "details") and not isinstance(e[name], str):
            raise Malformed("%s: %s is not a string" % (what, name))
    what = "%s: event %d" % (what, e["seq"])
    check_time(e["time"], what)
    try:
        e["canonical_details"] = canonical(e["details"])
    except ValueError as err:
        raise Malformed("%s: details: %s" % (what, err))
    return e


def jsonl_records(f):
    for n, raw in enumerate(f, 1):
        what = "line %d" % n
        try:
            obj = parse_json(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise Malformed("%s: not UTF-8 text" % what)
        except ValueError as e:
            raise Malformed("%s: not a JSON object: %s" % (what, e))
        if not isinstance(obj, dict):
            raise Malformed("%s: not a JSON object" % what)
        if len(obj) == 1:
            (kind, value), = obj.items()
            if kind == "header":
                yield "header", typed(value, HEADER_FIELDS, what + ": header")
                continue
            if kind == "checkpoint":
                yield "checkpoint", make_checkpoint(typed(value, CHECKPOINT_FIELDS, what + ": checkpoint"), what + ": checkpoint")
                continue
            if kind == "end":
                yield "end", make_seal(typed(value, SEAL_FIELDS, what + ": seal"), what + ": seal")
                continue
        if set(obj) != set(EVENT_FIELDS) or any(obj[k] is None for k in EVENT_FIELDS if k != "details"):
            raise Malformed("%s: not an event: want exactly the fields %s" % (what, ", ".join(EVENT_FIELDS)))
        yield "event", make_event(obj, what)


def text_lines(f):
    for n, raw in enumerate(f, 1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Malformed("line %d: not UTF-8 text" % n)


def unquote(field):
    """A CSV field as written: one leading ' added to defuse formulas goes."""
    return field[1:] if field.startswith("'") else field


def csv_seq(s, what):
    if not SEQ_RE.match(s) or int(s) >= INT64_MAX:
        raise Malformed("%s: invalid seq %r" % (what, s))
    return int(s)


def csv_records(f):
    csv.field_size_limit(2 ** 31 - 1)
    reader = csv.reader(text_lines(f), strict=True)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise Malformed("CSV line %d: %s" % (reader.line_num, e))
        if not row:
            continue  # an empty line is no record
        what = "row at line %d" % reader.line_num
        if len(row) != len(CSV_COLUMNS):
            raise Malformed("%s: %d fields, want %d" % (what, len(row), len(CSV_COLUMNS)))
        if row[0] == "record":
            continue  # the column names
        f_ = [unquote(x) for x in row]
        kind = f_[COL["record"]]

        def details(label):
            try:
                return parse_json(f_[COL["details"]])
            except ValueError as e:
                raise Malformed("%s: %s: details: %s" % (what, label, e))

        if kind == "header":
            yield "header", typed(details("header"), HEADER_FIELDS, what + ": header")
        elif kind == "event":
            e = {name: f_[COL[name]] for name in EVENT_FIELDS}
            e["seq"] = csv_seq(e["seq"], what)
            e["details"] = details("event %d" % e["seq"])
            yield "event", make_event(e, what)
        elif kind == "checkpoint":
            d = typed(details("checkpoint"), {"kind": str}, what + ": checkpoint details", strict=False)
            c = {"seq": csv_seq(f_[COL["seq"]], what), "hash": f_[COL["hash"]], "time": f_[COL["time"]],
                 "kind": d["kind"], "key_id": f_[COL["key_id"]], "signature": f_[COL["signature"]]}
            yield "checkpoint", make_checkpoint(c, what + ": checkpoint")
        elif kind == "end":
            d = typed(details("seal"), {"events": int, "first_seq": int}, what + ": seal details", strict=False)
            s = {"first_seq": d["first_seq"], "last_seq": csv_seq(f_[COL["seq"]], what), "events": d["events"],
                 "head": f_[COL["hash"]], "time": f_[COL["time"]], "key_id": f_[COL["key_id"]],
                 "signature": f_[COL["signature"]]}
            yield "end", make_seal(s, what + ": seal")
        else:
            raise Malformed("%s: unknown record %r" % (what, kind))


# --- verification --------------------------------------------------------------

class Broken(Exception):
    def __init__(self, seq, reason):
        super().__init__("BROKEN at seq %d: %s" % (seq, reason))


class NotExport(Exception):
    pass


def event_hash(e, prev):
    canon = '{"action":%s,"actor":%s,"details":%s,"outcome":%s,"remote_addr":%s,"request_id":%s,"resource":%s,"seq":%d,"time":%s}' % (
        jcs(e["action"]), jcs(e["actor"]), e["canonical_details"], jcs(e["outcome"]), jcs(e["remote_addr"]),
        jcs(e["request_id"]), jcs(e["resource"]), e["seq"], jcs(e["time"]))
    try:
        return hashlib.sha256((prev + canon).encode("utf-8")).hexdigest()
    except UnicodeError:
        return None  # a lone surrogate: no event was hashed from this


def checkpoint_message(c):
    return "modelkeep-audit-checkpoint/v1\n%d\n%s\n%s\n" % (c["seq"], c["hash"], c["time"])


def seal_message(s):
    return "modelkeep-audit-export/v1\n%d\n%d\n%s\n%s\n" % (s["first_seq"], s["last_seq"], s["head"], s["time"])


def signed(keys, key_id, message, signature):
    """True, False, or None when key_id is not a trusted key (proves nothing)."""
    pub = keys.get(key_id)
    if pub is None:
        return None
    try:
        pub.verify(signature, message.encode("utf-8"))
        return True
    except Exception:  # InvalidSignature, or a signature of the wrong length
        return False


def verify(records, keys):
    """Verify the records of an export; return a summary dict, raise Broken
    or NotExport."""
    try:
        kind, h = next(records)
    except StopIteration:
        raise NotExport("not a modelkeep audit export: no records")
    except Malformed as m:
        raise NotExport("not a modelkeep audit export: %s" % m)
    if kind != "header":
        raise NotExport("not a modelkeep audit export: it does not start with its header")
    if h["format"] != "modelkeep-audit-export" or h["version"] != 1:
        raise NotExport("not a modelkeep audit export (version 1): format %r version %d" % (h["format"], h["version"]))
    first, last = h["first_seq"], h["last_seq"]
    if first < 1 or last < first - 1:
        raise NotExport("export header: invalid range %d to %d" % (first, last))

    nxt, prev = 1, GENESIS  # the seq the next event must have, the hash it must link to
    started = first == 1
    anchor = None           # the prune anchor's seq, that an audit.prune event must name
    prune_seen = False
    events = verified = unverified = 0
    while True:
        try:
            kind, r = next(records)
        except StopIteration:
            raise Broken(nxt, "the export ends without its signed seal: it was cut after event %d" % (nxt - 1))
        except Malformed as m:
            raise Broken(nxt, "%s (at or after event %d)" % (m, nxt))
        if kind == "header":
            raise Broken(nxt, "a second header follows event %d" % (nxt - 1))
        if not started:
            # The prune anchor: a checkpoint of the event before the first, by a trusted key.
            if kind != "checkpoint" or r["seq"] != first - 1:
                raise Broken(1, "the export starts at seq %d without the signed prune anchor of event %d" % (first, first - 1))
            ok = signed(keys, r["key_id"], checkpoint_message(r), r["signature"])
            if ok is not True:
                raise Broken(1, "the events up to seq %d are missing and their prune anchor is not valid: %s" % (
                    r["seq"], "signed by an unknown key " + r["key_id"] if ok is None else "its signature does not verify"))
            nxt, prev, anchor, started = r["seq"] + 1, r["hash"], r["seq"], True
            verified += 1
            continue
        if kind == "checkpoint":
            c = r
            if c["seq"] != nxt - 1 or events == 0:
                raise Broken(c["seq"], "checkpoint at seq %d has no event before it" % c["seq"])
            if c["hash"] != prev:
                raise Broken(c["seq"], "event %d does not match its signed checkpoint: the chain up to it was rewritten" % c["seq"])
            ok = signed(keys, c["key_id"], checkpoint_message(c), c["signature"])
            if ok is False:
                raise Broken(c["seq"], "the signature of the checkpoint at seq %d does not verify with key %s" % (c["seq"], c["key_id"]))
            verified += ok is True
            unverified += ok is None
            continue
        if kind == "event":
            e = r
            if e["seq"] > nxt:
                raise Broken(nxt, "event %d is missing (the next event in the file is %d)" % (nxt, e["seq"]))
            if e["seq"] < nxt:
                raise Broken(nxt, "event %d appears where event %d belongs (inserted or out of order)" % (e["seq"], nxt))
            if e["prev_hash"] != prev:
                raise Broken(nxt, "event %d: prev_hash does not match the hash of event %d" % (nxt, nxt - 1))
            if event_hash(e, prev) != e["hash"]:
                raise Broken(nxt, "event %d: its content does not match its hash (changed after it was written)" % nxt)
            if anchor is not None and e["action"] == "audit.prune" and isinstance(e["details"], dict):
                through = e["details"].get("through_seq")
                if is_int(through) and through == anchor:
                    prune_seen = True
            events += 1
            prev, nxt = e["hash"], nxt + 1
            continue
        # The seal: signed by a trusted key, matching the header, the last record.
        s = r
        ok = signed(keys, s["key_id"], seal_message(s), s["signature"])
        if ok is None:
            raise Broken(nxt, "the seal is signed by key %s, which is not among the trusted public keys" % s["key_id"])
        if ok is False:
            raise Broken(nxt, "the seal's signature does not verify: the export's range or head was changed")
        if s["first_seq"] != first or s["last_seq"] != last or s["events"] != max(0, s["last_seq"] - s["first_seq"] + 1):
            raise Broken(nxt, "the header (%d to %d) does not match the signed seal (%d to %d)" % (
                first, last, s["first_seq"], s["last_seq"]))
        try:
            next(records)
            raise Broken(nxt, "data follows the seal")
        except StopIteration:
            pass
        except Malformed:
            raise Broken(nxt, "data follows the seal")
        if nxt - 1 < s["last_seq"]:
            raise Broken(nxt, "events %d to %d are missing: the export ends before its sealed head" % (nxt, s["last_seq"]))
        if nxt - 1 > s["last_seq"]:
            raise Broken(s["last_seq"] + 1, "events after the sealed head (seq %d) were found" % s["last_seq"])
        if prev != s["head"]:
            raise Broken(s["last_seq"], "event %d is not the sealed head" % s["last_seq"])
        if anchor is not None and not prune_seen:
            raise Broken(1, "events up to seq %d are missing and no audit.prune event records their removal" % anchor)
        return {"events": events, "first": first, "last": last, "head": prev, "sealed_at": s["time"],
                "seal_key": s["key_id"], "verified": verified, "unverified": unverified}


# --- the command ---------------------------------------------------------------

def die(message, status):
    print("%s: %s" % (PROG, message), file=sys.stderr)
    sys.exit(status)


def load_keys(paths):
    try:
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
        from cryptography.hazmat.primitives.serialization import (
            Encoding, PublicFormat, load_pem_private_key, load_pem_public_key)
    except ImportError:
        die("needs the Python package `cryptography` for Ed25519 (pip install cryptography)", 2)
    keys = {}
    for path in paths:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            die("public key %s: %s" % (path, e.strerror or e), 2)
        try:
            if b"-----BEGIN PRIVATE KEY-----" in data:  # accepted for its public half, as Modelkeep does
                key = load_pem_private_key(data, password=None)
                key = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
            else:
                key = load_pem_public_key(data)
        except Exception:
            die("public key %s: not a PEM public key" % path, 2)
        if not isinstance(key, Ed25519PublicKey):
            die("public key %s: not an Ed25519 key" % path, 2)
        raw = key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        keys[hashlib.sha256(raw).hexdigest()[:16]] = key
    return keys


def run(argv):
    if len(argv) > 1 and argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0)
    if len(argv) < 3:
        die("usage: python3 verify_export.py EXPORT PUBLIC_KEY.pem [MORE_PUBLIC_KEYS.pem ...] (--help for more)", 2)
    keys = load_keys(argv[2:])
    path = argv[1]
    try:
        f = sys.stdin.buffer if path == "-" else open(path, "rb")
    except OSError as e:
        die("%s: %s" % (path, e.strerror or e), 2)
    with f:
        try:
            head = f.peek(1)[:1]
            if not head:
                raise NotExport("%s is empty" % path)
            records = jsonl_records(f) if head == b"{" else csv_records(f)
            result = verify(records, keys)
        except NotExport as e:
            die(str(e), 1)
        except Broken as b:
            print(b)
            sys.exit(1)
        except OSError as e:
            die("%s: %s" % (path, e.strerror or e), 2)
    print("OK: %(events)d events (seq %(first)d to %(last)d), head %(head)s" % result)
    print("sealed at %(sealed_at)s by key %(seal_key)s; %(verified)d checkpoints verified, %(unverified)d by unknown keys" % result)


def main():
    try:
        run(sys.argv)
    except KeyboardInterrupt:
        die("interrupted", 130)
    except Exception as e:  # a bug: still one line, never a traceback
        die("internal error: %s: %s" % (type(e).__name__, e), 2)


if __name__ == "__main__":
    main()
