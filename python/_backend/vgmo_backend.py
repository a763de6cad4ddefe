"""vgmo_backend - the package's PEP 517 build backend, standard library only.

`pip install ./python` builds in an isolated environment into which pip
installs the build requirements from an index; with none to install, it
works offline, whatever setuptools (if any) the system has. This backend
builds the one thing vgmo needs: a pure-Python wheel of the vgmo package
(and an sdist), with the metadata of pyproject.toml's [project] table.
"""

import base64
import hashlib
import os
import re
import tarfile
import zipfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "vgmo"


def _project():
    """name, version, summary, requires-python from pyproject.toml."""
    with open(os.path.join(HERE, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    table = text.split("[project]", 1)[1].split("\n[", 1)[0]

    def field(key):
        m = re.search(r'^%s\s*=\s*"([^"]*)"' % re.escape(key), table, re.M)
        if m is None:
            raise RuntimeError("pyproject.toml: [project] has no %s" % key)
        return m.group(1)
    return {"name": field("name"), "version": field("version"),
            "summary": field("description"),
            "requires_python": field("requires-python")}


def _metadata(p):
    return ("Metadata-Version: 2.1\nName: %(name)s\nVersion: %(version)s\n"
            "Summary: %(summary)s\nRequires-Python: %(requires_python)s\n"
            "Provides-Extra: torch\nRequires-Dist: torch; extra == \"torch\"\n"
            % p)


def _files():
    """The package's modules, as (path in the archive, path on disk)."""
    root = os.path.join(HERE, PACKAGE)
    for name in sorted(os.listdir(root)):
        if name.endswith(".py"):
            yield "%s/%s" % (PACKAGE, name), os.path.join(root, name)


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest())
    return "%s,sha256=%s,%d" % (arcname, digest.rstrip(b"=").decode(),
                                len(data))


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory,
                                     config_settings=None):
    p = _project()
    dist_info = "%s-%s.dist-info" % (p["name"], p["version"])
    os.makedirs(os.path.join(metadata_directory, dist_info), exist_ok=True)
    with open(os.path.join(metadata_directory, dist_info, "METADATA"), "w",
              encoding="utf-8") as f:
        f.write(_metadata(p))
    return dist_info


def build_wheel(wheel_directory, config_settings=None,
                metadata_directory=None):
    p = _project()
    dist_info = "%s-%s.dist-info" % (p["name"], p["version"])
    name = "%s-%s-py3-none-any.whl" % (p["name"], p["version"])
    record = []
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w",
                         zipfile.ZIP_DEFLATED) as whl:
        def add(arcname, data):
            whl.writestr(arcname, data)
            record.append(_record_line(arcname, data))
        for arcname, path in _files():
            with open(path, "rb") as f:
                add(arcname, f.read())
        add(dist_info + "/METADATA", _metadata(p).encode())
        add(dist_info + "/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: vgmo_backend\n"
            b"Root-Is-Purelib: true\nTag: py3-none-any\n")
        record.append(dist_info + "/RECORD,,")
        whl.writestr(dist_info + "/RECORD", "\n".join(record) + "\n")
    return name


def build_sdist(sdist_directory, config_settings=None):
    p = _project()
    base = "%s-%s" % (p["name"], p["version"])
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as tar:
        for rel in ["pyproject.toml", "_backend/vgmo_backend.py"] + \
                [a for a, _ in _files()]:
            tar.add(os.path.join(HERE, rel), arcname=base + "/" + rel)
        info = tarfile.TarInfo(base + "/PKG-INFO")
        data = _metadata(p).encode()
        info.size = len(data)
        import io
        tar.addfile(info, io.BytesIO(data))
    return name
