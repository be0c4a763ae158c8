"""The tie-out asset checks, evaluated by a real materialization of the whole graph.

`dagster.materialize` runs fetch (off) -> raw load -> `dbt build` -> the checks over the
seed in a temp warehouse, once for the module. Each rule's evaluation must agree with
marts.tieout_results, carry the rule's severity and never block; on the seed the 2020
balance sheet does not balance (52,116,000 against 90,130,000: difference -38,014,000).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    AssetKey,
    DagsterInstance,
    materialize,
)

from pipeline.checks.tieouts import failing_table, format_amount, read_rules
from tests.helpers import make_seeds_dir, query_dicts, warehouse_env

BALANCE = "bs_assets_equal_liabilities_and_equity"


@dataclass
class Materialized:
    db: Path
    success: bool
    evaluations: dict[str, AssetCheckEvaluation]
    step_order: list[str]


@pytest.fixture(scope="module")
def materialized(tmp_path_factory: pytest.TempPathFactory) -> Materialized:
    from pipeline.assets.dbt import dbt_models
    from pipeline.assets.fetch import fetched_filings
    from pipeline.assets.raw import raw_tables
    from pipeline.checks.tieouts import tieout_checks
    from pipeline.definitions import build_definitions

    root = tmp_path_factory.mktemp("dagster_checks")
    seeds = make_seeds_dir(root)
    db = root / "financials.duckdb"
    with warehouse_env(seeds, db), DagsterInstance.ephemeral() as instance:
        resources = build_definitions().resources
        result = materialize([fetched_filings, raw_tables, dbt_models, *tieout_checks],
                             resources=resources, instance=instance, raise_on_error=False)
        steps = [e.step_key for e in result.all_events if e.event_type_value == "STEP_START"]
    return Materialized(
        db=db,
        success=result.success,
        evaluations={e.check_name: e for e in result.get_asset_check_evaluations()},
        step_order=[s for s in steps if s],
    )


def results(db: Path, rule_id: str) -> list[dict[str, Any]]:
    return query_dicts(db, "select * from marts.tieout_results where rule_id = ? "
                           "order by fiscal_year, fiscal_period", [rule_id])


def test_whole_graph_materializes(materialized: Materialized) -> None:
    assert materialized.success
    # one process, one writer: load, then dbt, then the tie-out checks
    order = materialized.step_order
    assert order.index("raw_tables") < order.index("dbt_models") < order.index("tieout_checks")


def test_every_rule_is_evaluated_with_its_severity(materialized: Materialized) -> None:
    rules = read_rules()
    assert len(rules) == 16
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
