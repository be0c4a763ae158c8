"""Session fixtures: one warehouse built from the seed, shared by the read-only tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import config
from tests.helpers import build_warehouse, make_seeds_dir

config.quiet_telemetry()


@pytest.fixture(scope="session")
def seed_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed (seeds/TROO.json) loaded and every dbt model built, once per session.

    Tests only read it; a test that needs to write builds its own warehouse.
    """
    root = tmp_path_factory.mktemp("seed_warehouse")
    seeds = make_seeds_dir(root)
    return build_warehouse(seeds, root / "financials.duckdb")
