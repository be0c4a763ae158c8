"""Shared test helpers: temp warehouses built by the real loader and a real dbt run."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline import config, warehouse
from pipeline.resources import dbt_executable

REPO = config.REPO_ROOT
SEED_FILE = REPO / "seeds" / "TROO.json"
TEST_DATA = REPO / "tests" / "data"


def make_seeds_dir(root: Path, files: Sequence[Path] = (SEED_FILE,)) -> Path:
    seeds = root / "seeds"
    seeds.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copy(f, seeds / f.name)
    return seeds


def run_dbt(db_path: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """A real dbt invocation against `db_path` (dbt's cwd is the dbt project)."""
    env = warehouse.dbt_env(db_path)
    # dbt's artifacts beside the test's warehouse (as pipeline.assets.dbt does), not in
    # dbt_project/target: a partial-parse file written there for a temp warehouse would
    # make the next `make run` re-parse the whole project ("profile has changed")
    target = Path(db_path).with_name(f"{Path(db_path).stem}.dbt_target")
    env.update(DBT_TARGET_PATH=str(target), DBT_LOG_PATH=str(target))
    cmd = [dbt_executable(), *args, "--project-dir", str(config.DBT_PROJECT_DIR),
           "--profiles-dir", str(config.DBT_PROJECT_DIR)]
    proc = subprocess.run(cmd, cwd=config.DBT_PROJECT_DIR, env=env, text=True,
                          capture_output=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def load(seeds_dir: Path, db_path: Path) -> Any:
    """The real loader over a folder (what the raw Dagster asset runs)."""
    from pipeline.ingest.load import load_seeds

    return load_seeds(seeds_dir, db_path)


def build_warehouse(seeds_dir: Path, db_path: Path) -> Path:
    """Load every file, then `dbt build` every model, seed and test once."""
    load(seeds_dir, db_path)
    run_dbt(db_path, "build")
    return db_path


def query(db_path: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    with warehouse.session(db_path, read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def query_dicts(db_path: Path, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    with warehouse.session(db_path, read_only=True) as con:
        cur = con.execute(sql, list(params))
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
