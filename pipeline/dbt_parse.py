"""The dbt manifest: made one way, by dagster-dbt's project preparer, when it is stale.

`@dbt_assets` reads dbt_project/target/manifest.json when `pipeline.assets.dbt` is
imported, while `dbt build` parses the project afresh: a model added since the last
parse would reach Dagster as an unknown node. `prepare_manifest` is the one mechanism
that keeps it fresh; it is called by that import itself (so tests, `dagster dev` and
`make run` all see a fresh manifest), by `make parse` (`python -m pipeline.dbt_parse`)
and by the CLI before a run (to report a broken dbt project clearly). Deciding that
the manifest is fresh costs a few `stat` calls and imports no Dagster.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pipeline import config

MANIFEST = config.DBT_PROJECT_DIR / "target" / "manifest.json"
DBT_FOLDERS = ("models", "seeds", "macros", "tests", "snapshots")
DBT_SUFFIXES = (".sql", ".yml", ".yaml", ".csv")
DBT_PROJECT_FILES = ("dbt_project.yml", "profiles.yml")


def _dbt_files() -> list[Path]:
    files = [p for folder in DBT_FOLDERS for p in (config.DBT_PROJECT_DIR / folder).rglob("*")
             if p.suffix in DBT_SUFFIXES]
    return files + [p for name in DBT_PROJECT_FILES
                    if (p := config.DBT_PROJECT_DIR / name).exists()]


def manifest_is_stale() -> bool:
    """True when a dbt file is newer than target/manifest.json (or there is none)."""
    if not MANIFEST.exists():
        return True
    built = MANIFEST.stat().st_mtime
    return any(path.stat().st_mtime > built for path in _dbt_files())


def prepare_manifest(*, force: bool = False) -> None:
    """`dbt parse` through the project's preparer (`DbtProject.preparer.prepare`) when
    the manifest is stale. Raises when dbt fails (a broken model, a bad yml)."""
    if not force and not manifest_is_stale():
        return
    from pipeline import warehouse
    from pipeline.resources import dbt_project

    # profiles.yml reads WAREHOUSE_DB, and dbt reuses target/partial_parse.msgpack only
    # for the same profile: parse for the database the run's dbt opens (the working
    # one), so the first `make run` after `make parse` parses only what changed.
    with warehouse.dbt_environment(config.build_db()):  # and the venv's dbt on PATH
        dbt_project.preparer.prepare(dbt_project)


def main() -> int:
    try:
        prepare_manifest()
    except Exception as error:  # noqa: BLE001 - the message is the command's output
        print(f"dbt parse failed: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
