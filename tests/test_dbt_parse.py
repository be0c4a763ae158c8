"""The one manifest mechanism: staleness by file times, preparation by dagster-dbt's
preparer (`pipeline.dbt_parse`), used by make, the CLI and the definitions import."""

from __future__ import annotations

import os

from pipeline import config, dbt_parse


def test_a_dbt_file_newer_than_the_manifest_makes_it_stale() -> None:
    dbt_parse.prepare_manifest()  # fresh (a no-op when `make parse` ran)
    assert not dbt_parse.manifest_is_stale()
    model = config.DBT_PROJECT_DIR / "models" / "staging" / "stg_raw__facts.sql"
    before = model.stat()
    built = dbt_parse.MANIFEST.stat().st_mtime
    try:
        os.utime(model, (before.st_atime, built + 10))
        assert dbt_parse.manifest_is_stale()
    finally:
        os.utime(model, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert not dbt_parse.manifest_is_stale()


def test_the_definitions_use_the_prepared_project() -> None:
    from pipeline.assets.dbt import dbt_models
    from pipeline.resources import dbt_project

    assert dbt_project.manifest_path == dbt_parse.MANIFEST
    keys = {key.to_user_string() for key in dbt_models.keys}
    assert {"staging/stg_raw__filings", "marts/balance_sheet"} <= keys
