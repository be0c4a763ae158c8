"""The tie-out asset checks, evaluated by a real materialization of the whole graph.

`dagster asset materialize -m pipeline.definitions --select '*'` (what the UI's
"Materialize all" does) runs fetch (off) -> raw load -> `dbt build` -> the checks over
the seed in a temp warehouse, once for the module; the evaluations are read back from
the run's event log in DAGSTER_HOME. Each rule's evaluation must agree with
marts.tieout_results, carry the rule's severity and never block; on the seed the 2020
balance sheet does not balance (52,116,000 against 90,130,000: difference -38,014,000).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
)

from pipeline.checks.tieouts import failing_table, format_amount, read_rules
from tests.helpers import REPO, make_seeds_dir, query_dicts
from tests.ops_support import mart_hashes

BALANCE = "bs_assets_equal_liabilities_and_equity"
RAW = {AssetKey(["raw", t]) for t in ("filings", "facts", "load_log", "rejects")}
PY = sys.executable
pytestmark = pytest.mark.slow


@dataclass
class Materialized:
    db: Path
    status: DagsterRunStatus
    runs: int
    evaluations: dict[str, AssetCheckEvaluation]
    materialized: set[AssetKey]
    step_order: list[str]
    output: str


@pytest.fixture(scope="module")
def materialized(tmp_path_factory: pytest.TempPathFactory) -> Materialized:
    root = tmp_path_factory.mktemp("dagster_checks")
    seeds = make_seeds_dir(root)
    db = root / "warehouse" / "financials.duckdb"
    home = root / "dagster_home"
    env = {**os.environ, "SEEDS_DIR": str(seeds), "WAREHOUSE_DB": str(db),
           "DAGSTER_HOME": str(home)}
    subprocess.run([PY, "-m", "pipeline.cli", "prepare-home"], env=env, check=True,
                   capture_output=True)
    proc = subprocess.run(
        [str(Path(PY).parent / "dagster"), "asset", "materialize", "-m", "pipeline.definitions",
         "--select", "*"], cwd=REPO, env=env, text=True, capture_output=True, timeout=900)
    output = proc.stdout[-5000:] + proc.stderr[-5000:]
    assert proc.returncode == 0, output
    with DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        run = runs[0]
        records = [r.event_log_entry for r in instance.get_records_for_run(
            run.run_id, limit=100_000).records]
    events = [e.dagster_event for e in records if e.dagster_event is not None]
    evaluations: dict[str, AssetCheckEvaluation] = {}
    for event in events:
        if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            data = event.event_specific_data
            evaluations[data.check_name] = data
    return Materialized(
        db=db, status=run.status, runs=len(runs), evaluations=evaluations,
        materialized={e.asset_key for e in events
                      if e.event_type == DagsterEventType.ASSET_MATERIALIZATION},
        step_order=[e.step_key for e in events if e.event_type == DagsterEventType.STEP_START],
        output=output,
    )


def results(db: Path, rule_id: str) -> list[dict[str, Any]]:
    return query_dicts(db, "select * from marts.tieout_results where rule_id = ? "
                           "order by fiscal_year, fiscal_period", [rule_id])


def test_whole_graph_materializes_in_one_run(materialized: Materialized,
                                            seed_warehouse: Path) -> None:
    assert materialized.runs == 1 and materialized.status == DagsterRunStatus.SUCCESS
    marts = {AssetKey(["marts", t]) for t in mart_hashes(materialized.db)}
    assert len(marts) >= 10
    assert RAW <= materialized.materialized and marts <= materialized.materialized
    # one process, one writer: load, then dbt, then the tie-out checks
    order = materialized.step_order
    assert order.index("raw_tables") < order.index("dbt_models") < order.index("tieout_checks")
    # and the working database is published to WAREHOUSE_DB (the file read below)
    assert AssetKey("published_warehouse") in materialized.materialized
    assert order.index("dbt_models") < order.index("published_warehouse")
    # the same warehouse as one load + one `dbt build`
    assert mart_hashes(materialized.db) == mart_hashes(seed_warehouse)


def test_every_rule_is_evaluated_with_its_severity(materialized: Materialized) -> None:
    rules = read_rules()
    assert len(rules) == 25
    for rule in rules:
        evaluation = materialized.evaluations[rule.rule_id]
        assert evaluation.asset_key == AssetKey(["marts", rule.statement])
        assert evaluation.severity == (AssetCheckSeverity.ERROR if rule.severity == "error"
                                       else AssetCheckSeverity.WARN)
        assert evaluation.blocking is False
        rows = results(materialized.db, rule.rule_id)
        statuses = [r["status"] for r in rows]
        meta = {k: v.value for k, v in evaluation.metadata.items()}
        assert meta["passed"] == statuses.count("pass"), rule.rule_id
        assert meta["failed"] == statuses.count("fail"), rule.rule_id
        assert meta["skipped"] == statuses.count("skipped"), rule.rule_id
        assert meta["evaluated"] == meta["passed"] + meta["failed"]
        assert meta["severity"] == rule.severity
        # passes exactly when no filing fails
        assert evaluation.passed == ("fail" not in statuses), rule.rule_id
        failing = [r for r in rows if r["status"] == "fail"]
        table = meta["failing_filings"]
        if failing:
            assert table.startswith("| source | symbol | fiscal_year | fiscal_period |")
            assert len(re.findall(r"^\| vendor \| TROO \|", table, re.M)) == len(failing)
        else:
            assert table == "No failing filings."


def test_balance_sheet_2020_fails_with_its_difference(materialized: Materialized) -> None:
    evaluation = materialized.evaluations[BALANCE]
    assert evaluation.passed is False
    assert evaluation.severity == AssetCheckSeverity.ERROR
    assert evaluation.asset_key == AssetKey(["marts", "balance_sheet"])
    meta = {k: v.value for k, v in evaluation.metadata.items()}
    assert meta["rule_id"] == BALANCE and meta["severity"] == "error"
    assert meta["failed"] >= 1
    row_2020 = next(line for line in meta["failing_filings"].splitlines()
                    if line.startswith("| vendor | TROO | 2020 | FY |"))
    cells = [c.strip() for c in row_2020.strip("|").split("|")]
    # source, symbol, fy, fp, period_end, filing_id, lhs, rhs, difference, tolerance
    assert cells[6:9] == ["52,116,000", "90,130,000", "-38,014,000"]
    (db_row,) = [r for r in results(materialized.db, BALANCE) if r["fiscal_year"] == 2020]
    assert db_row["difference"] == Decimal("-38014000")
    assert cells[9] == format_amount(db_row["tolerance"])
    assert cells[5] == db_row["filing_id"]


def test_2023_fails_no_rule(materialized: Materialized) -> None:
    for rule in read_rules():
        table = materialized.evaluations[rule.rule_id].metadata["failing_filings"].value
        assert "| vendor | TROO | 2023 |" not in table, rule.rule_id


def test_markdown_helpers() -> None:
    assert format_amount(Decimal("-38014000.0000000000")) == "-38,014,000"
    assert format_amount(Decimal("0.0050000000")) == "0.005"
    assert format_amount(None) == "—"
    rows = [{"source": "vendor", "symbol": "X", "fiscal_year": 2020 + i, "fiscal_period": "FY",
             "period_end": "2020-12-31", "filing_id": "f", "lhs": Decimal(1), "rhs": Decimal(2),
             "difference": Decimal(-1), "tolerance": Decimal("0.5")} for i in range(60)]
    table = failing_table(rows, 60)
    assert table.count("\n| vendor |") == 50 and table.startswith("| source |")
    assert table.endswith("… and 10 more in marts.tieout_results.")
