"""Version precedence follows the last load that presented a content (issue 18).

A file edited and then reverted to its earlier content must give the earlier content
back: raw.filings keeps `load_id` = the first load of a version and records the last
load whose file presented it in `last_seen_load_id`, which int_filing_versions orders by.
Real loader, real dbt (the balance sheet and what it reads), TROO's 2021 20-F.
"""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

from pipeline import warehouse
from pipeline.ingest.load import load_seeds
from tests.helpers import SEED_FILE, make_seeds_dir, query, run_dbt

ORIGINAL_2021_ASSETS = Decimal(70_346_000)  # seeds/TROO.json, record 2 (FY 2021) `assets`
EDITED_2021_ASSETS = Decimal(99_000_000)


def _total_assets_2021(db: Path) -> Decimal:
    run_dbt(db, "run", "--select", "+balance_sheet")
    [(value,)] = query(db, "select total_assets from marts.balance_sheet "
                           "where symbol = 'TROO' and fiscal_year = 2021")
    return value


def _versions_2021(db: Path) -> list[tuple[Decimal, int, int]]:
    """(assets, load_id, last_seen_load_id) of each FY 2021 version, first load first."""
    return query(db, "select x.value_number, f.load_id, f.last_seen_load_id "
                     "from raw.filings f join raw.facts x using (filing_id) "
                     "where f.fiscal_year = 2021 and x.concept = 'assets' order by f.load_id")


def test_reverted_file_wins_over_the_version_it_replaced(tmp_path: Path) -> None:
    seeds = make_seeds_dir(tmp_path)
    db = tmp_path / "w.duckdb"
    load_seeds(seeds, db)  # load 1: A
    run_dbt(db, "seed")  # the mappings the statements read
    assert _total_assets_2021(db) == ORIGINAL_2021_ASSETS

    records = json.loads(SEED_FILE.read_text())
    records[2]["assets"] = int(EDITED_2021_ASSETS)
    (seeds / SEED_FILE.name).write_text(json.dumps(records))
    edited = load_seeds(seeds, db)  # load 2: B, a new version
    assert (edited.files_loaded, edited.new_filings) == (1, 1)
    assert _total_assets_2021(db) == EDITED_2021_ASSETS

    shutil.copy(SEED_FILE, seeds / SEED_FILE.name)  # back to A's bytes
    reverted = load_seeds(seeds, db)  # load 3: A again, nothing new to write
    assert (reverted.files_loaded, reverted.new_filings, reverted.new_facts) == (1, 0, 0)
    assert _versions_2021(db) == [(ORIGINAL_2021_ASSETS, 1, 3), (EDITED_2021_ASSETS, 2, 2)]
    assert _total_assets_2021(db) == ORIGINAL_2021_ASSETS
    # the other four filings were presented by all three loads
    assert query(db, "select load_id, last_seen_load_id, count(*) from raw.filings "
                     "where fiscal_year <> 2021 group by all") == [(1, 3, 4)]


def test_migration_adds_last_seen_to_an_older_warehouse(tmp_path: Path) -> None:
    """A warehouse written before the column: the next load adds it, backfilled with
    load_id, and carries on."""
    seeds = make_seeds_dir(tmp_path)
    db = tmp_path / "w.duckdb"
    load_seeds(seeds, db)
    with warehouse.session(db) as con:
        con.execute("alter table raw.filings drop column last_seen_load_id")
    (seeds / "other.json").write_text(json.dumps(
        [{"symbol": "OTH", "date": "2023-12-31", "period": "FY", "assets": 1}]))
    summary = load_seeds(seeds, db)
    assert (summary.files_loaded, summary.files_skipped, summary.new_filings) == (1, 1, 1)
    assert query(db, "select symbol, load_id, last_seen_load_id, count(*) from raw.filings "
                     "group by all order by 1") == [("OTH", 3, 3, 1), ("TROO", 1, 1, 5)]
