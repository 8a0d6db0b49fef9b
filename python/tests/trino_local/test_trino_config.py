"""The local Trino's configuration, and its settings from the environment (no server needed)."""

from __future__ import annotations

import pytest

from sqlrec.errors import UserError
from sqlrec.trino_local.config import iceberg_catalog_properties, lake_catalog_properties
from sqlrec.trino_local.server import TrinoServer


def test_catalog_properties_use_local_file_system(tmp_path):
    lake = lake_catalog_properties(tmp_path / "meta")
    assert lake["connector.name"] == "hive"
    assert lake["hive.metastore"] == "file"
    assert lake["hive.metastore.catalog.dir"] == f"local://{tmp_path}/meta"
    assert lake["fs.native-local.enabled"] == "true"
    assert lake["local.location"] == "/"
    assert lake["hive.timestamp-precision"] == "MICROSECONDS"
    iceberg = iceberg_catalog_properties(tmp_path / "wh")
    assert iceberg["connector.name"] == "iceberg"
    assert iceberg["iceberg.catalog.type"] == "testing_file_metastore"
    assert iceberg["hive.metastore.catalog.dir"] == f"local://{tmp_path}/wh"


def test_write_config(tmp_path):
    server = TrinoServer(port=18123, cache_dir=tmp_path / "cache", run_dir=tmp_path / "run",
                         heap="2G", java_home=tmp_path / "jdk")
    server.write_config()
    etc = tmp_path / "run" / "etc"
    config = (etc / "config.properties").read_text()
    assert "http-server.http.port=18123\n" in config
    assert "discovery.uri=http://127.0.0.1:18123\n" in config
    assert "node-scheduler.include-coordinator=true\n" in config
    assert "-Xmx2G" in (etc / "jvm.config").read_text().splitlines()
    assert "-XX:TieredStopAtLevel=1" not in (etc / "jvm.config").read_text()  # C2 by default
    node = (etc / "node.properties").read_text()
    assert f"node.data-dir={tmp_path / 'run' / 'data'}\n" in node
    assert sorted(p.name for p in (etc / "catalog").iterdir()) == [
        "iceberg.properties", "lake.properties", "memory.properties"]
    assert sorted(p.name for p in (tmp_path / "run" / "plugins").iterdir()) == [
        "hive", "iceberg", "memory"]


def test_quick_jit_stops_the_jit_at_its_first_tier(tmp_path):
    server = TrinoServer(port=18124, cache_dir=tmp_path / "cache", run_dir=tmp_path / "run",
                         java_home=tmp_path / "jdk", quick_jit=True)
    server.write_config()
    flags = (tmp_path / "run" / "etc" / "jvm.config").read_text().splitlines()
    assert flags.count("-XX:TieredStopAtLevel=1") == 1


def test_defaults_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SQLREC_TRINO_CACHE", str(tmp_path / "c"))
    monkeypatch.setenv("SQLREC_TRINO_PORT", "9999")
    server = TrinoServer()
    assert server.port == 9999
    assert server.url == "http://127.0.0.1:9999"
    assert server.run_dir == tmp_path / "c" / "run-9999"
    monkeypatch.setenv("SQLREC_TRINO_PORT", "nope")
    with pytest.raises(UserError, match="SQLREC_TRINO_PORT"):
        TrinoServer()
