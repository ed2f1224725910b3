"""A minimal PEP 517 / PEP 660 build backend for the Modelkeep client.

Standard library only, so that ``pip install ./clients/python`` needs no
download (no setuptools in an isolated build environment). It builds:

- a wheel holding the module ``modelkeep.py`` as the package
  ``modelkeep/__init__.py`` with a ``py.typed`` marker (PEP 561: type
  checkers read its annotations once installed);
- an sdist of this directory's sources;
- an editable wheel whose ``modelkeep/__init__.py`` runs the source file in
  place (``pip install -e``).

Metadata comes from the ``[project]`` table of ``pyproject.toml`` (the few
``key = "value"`` fields it has) and ``__version__`` in ``modelkeep.py``.
"""

import base64
import hashlib
import io
import os
import re
import tarfile
import time
import zipfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE = "modelkeep.py"
TAG = "py3-none-any"


def _project():
    """The string fields of pyproject.toml's [project] table (``key = "value"``)."""
    fields = {}
    table = None
    with open(os.path.join(HERE, "pyproject.toml"), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            m = re.match(r"^\[([^\]]+)\]\s*(#.*)?$", line)
            if m:
                table = m.group(1)
                continue
            m = re.match(r'^([A-Za-z0-9_-]+)\s*=\s*"([^"]*)"\s*(#.*)?$', line)
            if table == "project" and m:
                fields[m.group(1)] = m.group(2)
    return fields


def _version():
    with open(os.path.join(HERE, MODULE), encoding="utf-8") as f:
        m = re.search(r'^__version__ = "([^"]+)"$', f.read(), re.M)
    if not m:
        raise RuntimeError("no __version__ in " + MODULE)
    return m.group(1)


def _metadata():
    p = _project()
    lines = [
        "Metadata-Version: 2.1",
        "Name: " + p["name"],
        "Version: " + _version(),
        "Summary: " + p.get("description", ""),
        "Requires-Python: " + p.get("requires-python", ">=3.9"),
        "License: " + p.get("license", ""),
        "Classifier: Programming Language :: Python :: 3",
        "Classifier: Typing :: Typed",
    ]
    readme = p.get("readme")
    body = ""
    if readme:
        lines.append("Description-Content-Type: text/markdown")
        with open(os.path.join(HERE, readme), encoding="utf-8") as f:
            body = f.read()
    return "\n".join(lines) + "\n\n" + body


def _dist():
    p = _project()
    return "%s-%s" % (re.sub(r"[-_.]+", "_", p["name"]).lower(), _version())


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (name, digest, len(data))


def _write_wheel(wheel_directory, files):
    """files: list of (archive name, bytes). Returns the wheel's file name."""
    dist = _dist()
    info = dist + ".dist-info"
    files = list(files) + [
        (info + "/METADATA", _metadata().encode("utf-8")),
        (info + "/WHEEL", ("Wheel-Version: 1.0\nGenerator: modelkeep_backend\nRoot-Is-Purelib: true\nTag: %s\n" % TAG).encode()),
    ]
    record = [_record_line(n, d) for n, d in files] + [info + "/RECORD,,"]
    files.append((info + "/RECORD", ("\n".join(record) + "\n").encode("utf-8")))
    name = "%s-%s.whl" % (dist, TAG)
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in files:
            zi = zipfile.ZipInfo(n, date_time=(2020, 1, 1, 0, 0, 0))
            zi.external_attr = 0o644 << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, d)
    return name


def _module_bytes():
    with open(os.path.join(HERE, MODULE), "rb") as f:
        return f.read()


# --- PEP 517 ---


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _write_wheel(wheel_directory, [("modelkeep/__init__.py", _module_bytes()), ("modelkeep/py.typed", b"")])


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    src = os.path.join(HERE, MODULE)
    stub = (
        "# An editable install of the Modelkeep client: runs the source file in place.\n"
        "__file__ = %r\n"
        "with open(__file__, encoding='utf-8') as _f:\n"
        "    exec(compile(_f.read(), __file__, 'exec'))\n"
        "del _f\n" % src
    )
    return _write_wheel(wheel_directory, [("modelkeep/__init__.py", stub.encode("utf-8")), ("modelkeep/py.typed", b"")])


def build_sdist(sdist_directory, config_settings=None):
    dist = _dist()
    name = dist + ".tar.gz"
    members = ["pyproject.toml", MODULE, "README.md", "_backend/modelkeep_backend.py"]
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz", format=tarfile.PAX_FORMAT) as tar:

        def add(arcname, data):
            ti = tarfile.TarInfo(dist + "/" + arcname)
            ti.size, ti.mode, ti.mtime = len(data), 0o644, int(time.time())
            tar.addfile(ti, io.BytesIO(data))

        for m in members:
            with open(os.path.join(HERE, m), "rb") as f:
                add(m, f.read())
        add("PKG-INFO", _metadata().encode("utf-8"))
    return name
