"""The consolidated generic tests: `not_null_columns` (one dbt node per model instead of one
`not_null` node per column) and `accepted_values_columns` (one node per model with
several accepted-values columns). They still fail on a NULL / an unexpected value in any
listed column, name every failing column (and value) with its row count, pass where
there is none, and cover the key columns (the manifest is walked)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pipeline import config, warehouse
from tests.helpers import run_dbt

MANIFEST = config.DBT_PROJECT_DIR / "target" / "manifest.json"


def test_failures_name_every_column(seed_warehouse: Path, tmp_path: Path) -> None:
    db = tmp_path / "financials.duckdb"  # same file name: the relation is "financials"...
    shutil.copy(seed_warehouse, db)
    with warehouse.session(db) as con:
        con.execute("update marts.balance_sheet set filing_id = null "
                    "where fiscal_year in (2019, 2020)")
        con.execute("update marts.balance_sheet set symbol = null where fiscal_year = 2021")
        con.execute("update marts.tieout_results set status = 'maybe' where fiscal_year = 2019 "
                    "and rule_id in ('bs_assets_sum', 'bs_liabilities_sum', "
                    "'bs_total_equity_sum')")
        con.execute("update marts.tieout_results set severity = 'fatal' "
                    "where fiscal_year = 2020 and rule_id = 'bs_assets_sum'")
    proc = run_dbt(db, "test", "--select",
                   "balance_sheet,test_name:not_null_columns",
                   "income_statement,test_name:not_null_columns",
                   "tieout_results,test_name:accepted_values_columns", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert ('not null violated in "financials"."marts"."balance_sheet": '
            'filing_id (2 rows), symbol (1 rows)') in out, out
    assert ('accepted values violated in "financials"."marts"."tieout_results": '
            "severity = 'fatal' (1 rows), status = 'maybe' (3 rows)") in out, out
    # the untouched statement passes in the same invocation; the broken ones error
    assert "PASS=1" in out and "ERROR=2" in out, out


def test_every_key_column_of_the_marts_is_asserted_not_null() -> None:
    """The columns that had a `not_null` test each are listed in their node's
    `not_null_columns` test (a sample of the contract's key columns per layer)."""
    manifest = json.loads(MANIFEST.read_text())
    listed: dict[str, list[str]] = {}
    for node in manifest["nodes"].values():
        meta = node.get("test_metadata") or {}
        if node["resource_type"] == "test" and meta.get("name") == "not_null_columns":
            listed.setdefault(node["attached_node"].split(".")[-1], []).extend(
                meta["kwargs"]["columns"])
            assert node["config"]["severity"].lower() == "error"
        assert meta.get("name") != "not_null", node["unique_id"]  # all consolidated
    key = ["source", "symbol", "fiscal_year", "fiscal_period"]
    assert listed["balance_sheet"] == [*key, "filing_id"]
    for mart in ("income_statement", "cash_flow_statement"):
        assert set(key) | {"filing_id"} <= set(listed[mart]), mart
    assert set(key) | {"rule_id", "severity", "status"} <= set(listed["tieout_results"])
    assert {"filing_id", "concept"} <= set(listed["stg_raw__facts"])
    assert {"rule_id", "severity", "statement"} <= set(listed["tieout_rules"])
    # one test per node: 52 nodes carry one (49 + the incremental models' change sets and
    # int_concept_filings), none carries two
    assert len(listed) == 52


def test_accepted_values_of_several_columns_are_one_test() -> None:
    manifest = json.loads(MANIFEST.read_text())
    consolidated: dict[str, dict[str, list[str]]] = {}
    single: dict[str, int] = {}
    for node in manifest["nodes"].values():
        meta = node.get("test_metadata") or {}
        owner = (node.get("attached_node") or "").split(".")[-1]
        if meta.get("name") == "accepted_values_columns":
            assert node["name"] == f"accepted_values_columns_{owner}"
            consolidated[owner] = meta["kwargs"]["values"]
        elif meta.get("name") == "accepted_values":
            single[owner] = single.get(owner, 0) + 1
    assert consolidated["tieout_results"] == {"severity": ["error", "warn"],
                                              "status": ["pass", "fail", "skipped"]}
    assert set(consolidated["tieout_rules"]) == {"severity", "statement", "comparison",
                                                 "tolerance_basis", "periods"}
    assert len(consolidated) == 12
    # left as they were: one plain test on a node, or a test with its own config / quote
    assert not set(single) & set(consolidated)
    assert single["stg_raw__filings"] == 2 and single["filing_coverage"] == 1
