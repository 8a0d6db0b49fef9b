"""Installing the local Trino: the parts that need no download."""

from __future__ import annotations

import zipfile

from sqlrec.trino_local.install import _unzip_stripping_top


def test_plugin_zip_is_unpacked_without_its_top_folder(tmp_path):
    archive = tmp_path / "trino-x-476.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("trino-x-476/", "")
        zf.writestr("trino-x-476/a.jar", b"jar")
        zf.writestr("trino-x-476/sub/b.jar", b"jar2")
    _unzip_stripping_top(archive, tmp_path / "plugin" / "x")
    assert (tmp_path / "plugin" / "x" / "a.jar").read_bytes() == b"jar"
    assert (tmp_path / "plugin" / "x" / "sub" / "b.jar").read_bytes() == b"jar2"
