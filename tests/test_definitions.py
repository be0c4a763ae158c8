"""The code location: what `pipeline.definitions` holds and how the graph is wired.

Reads the definitions only (no run): groups, lineage raw -> dbt, the tie-out checks
from the rules seed, the job, schedule, sensor, executor; plus
`dagster definitions validate -m pipeline.definitions` as a subprocess.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster import AssetCheckKey, AssetKey, Definitions

from pipeline import config
from pipeline.checks.tieouts import RULES_CSV, TIEOUT_RESULTS_KEY, read_rules
from tests.helpers import REPO

RAW_KEYS = {AssetKey(["raw", t]) for t in ("filings", "facts", "load_log", "rejects")}
MARTS = ("companies", "balance_sheet", "income_statement", "cash_flow_statement",
         "statement_lines", "concept_coverage", "financial_ratios", "financial_ratios_long")
QUALITY = ("tieout_results", "filing_quality", "filing_coverage")


@pytest.fixture(scope="module")
def defs() -> Definitions:
    from pipeline.definitions import build_definitions

    return build_definitions()


def test_job_schedule_sensor(defs: Definitions) -> None:
    job = defs.resolve_job_def("warehouse_job")
    assert job.executor_def.name == "in_process"
    schedule = defs.resolve_schedule_def("daily_warehouse_schedule")
    assert schedule.job_name == "warehouse_job"
    assert schedule.default_status.value == "RUNNING"
    sensor = defs.resolve_sensor_def("seeds_sensor")
    assert sensor.job_name == "warehouse_job"
    assert sensor.default_status.value == "RUNNING"
    # the job covers every asset, and every check
    graph = defs.resolve_asset_graph()
    job_keys = set(job.asset_layer.executable_asset_keys)
    assert job_keys == set(graph.executable_asset_keys)
    assert set(job.asset_layer.asset_graph.asset_check_keys) == set(graph.asset_check_keys)


def test_groups_and_lineage(defs: Definitions) -> None:
    graph = defs.resolve_asset_graph()
    keys = set(graph.get_all_asset_keys())
    assert RAW_KEYS <= keys
    for key in RAW_KEYS:
        node = graph.get(key)
        assert node.group_name == "raw" and node.is_executable  # produced by raw_tables
        assert AssetKey("fetched_filings") in node.parent_keys
    assert graph.get(AssetKey("fetched_filings")).group_name == "extract"
    # no "external" stubs: every dbt source is the raw asset
    assert all(graph.get(k).is_executable for k in keys)
    for name in MARTS:
        assert graph.get(AssetKey(["marts", name])).group_name == "marts", name
    for name in QUALITY:
        assert graph.get(AssetKey(["marts", name])).group_name == "quality", name
    for key in keys:
        node = graph.get(key)
        if key.path[0] in ("staging", "intermediate"):
            assert node.group_name == key.path[0], key
        if key.path[0] == "reference":
            assert node.group_name == "reference", key
        assert node.description, f"{key.to_user_string()} has no description"
    # staging models read the raw assets directly; every mart reaches raw upstream
    assert graph.get(AssetKey(["staging", "stg_raw__facts"])).parent_keys == {
        AssetKey(["raw", "facts"])}
    for name in MARTS + QUALITY:
        upstream = graph.upstream_key_iterator(AssetKey(["marts", name]))
        assert RAW_KEYS & set(upstream), name


def test_tieout_checks_from_the_rules_seed(defs: Definitions) -> None:
    with RULES_CSV.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected = {r["rule_id"]: (r["statement"], r["severity"]) for r in rows}
    assert len(expected) == 25
    rules = read_rules()
    assert [r.rule_id for r in rules] == list(expected)
    graph = defs.resolve_asset_graph()
    for rule_id, (statement, severity) in expected.items():
        key = AssetCheckKey(AssetKey(["marts", statement]), rule_id)
        assert key in graph.asset_check_keys, rule_id
        spec = graph.get_check_spec(key)
        assert spec.blocking is False
        assert TIEOUT_RESULTS_KEY in {dep.asset_key for dep in spec.additional_deps}
        assert spec.metadata["severity"] == severity
    # the dbt tests are checks too, on the model they test
    dbt_checks = [k for k in graph.asset_check_keys
                  if k.asset_key == AssetKey(["marts", "balance_sheet"])
                  and k.name not in expected]
    assert dbt_checks


def test_publish_is_downstream_of_every_asset(defs: Definitions) -> None:
    graph = defs.resolve_asset_graph()
    published = graph.get(AssetKey("published_warehouse"))
    assert published.group_name == "publish"
    others = set(graph.get_all_asset_keys()) - {AssetKey("published_warehouse")}
    assert published.parent_keys == others
    assert AssetKey(["marts", "tieout_results"]) in published.parent_keys
    assert not published.child_keys


def test_resources_follow_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.definitions import build_definitions

    monkeypatch.setenv("WAREHOUSE_DB", str(tmp_path / "x.duckdb"))
    monkeypatch.setenv("SEEDS_DIR", "some/where")
    defs = build_definitions()
    resources = defs.resources
    # the pipeline writes the working database; the lock is named after the published file
    assert resources["duckdb"].database == str(tmp_path / ".build" / "x.duckdb")
    assert resources["warehouse_lock"].database == str(tmp_path / "x.duckdb")
    assert resources["seeds"].directory() == config.REPO_ROOT / "some" / "where"
    assert resources["fetcher"].enabled is False


@pytest.mark.slow
def test_dagster_definitions_validate(tmp_path: Path) -> None:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"),
           "WAREHOUSE_DB": str(tmp_path / "w.duckdb")}
    (tmp_path / "home").mkdir()
    dagster = Path(sys.executable).parent / "dagster"
    proc = subprocess.run([str(dagster), "definitions", "validate", "-m", "pipeline.definitions"],
                          cwd=REPO, env=env, text=True, capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Validation successful" in proc.stdout + proc.stderr
    assert not (tmp_path / "w.duckdb").exists()  # loading the code opens no warehouse
