"""dagster-dbt's `DbtCliResource` without its per-invocation start-up work.

Before it starts `dbt build`, dagster-dbt's `cli()` spends about 3 s of every run on two
things this project never uses (measured on the seed, see README "Cost of a run"):

- `dbt --version` in a subprocess (a second dbt-core import, ~1.5 s) to tell dbt Core
  from the Fusion engine: this venv's dbt is always dbt-core, the version of the
  installed `dbt-core` distribution;
- an in-process dbt adapter (profile, project and every macro parsed, ~1.5 s), used
  only by `fetch_column_metadata()` / `fetch_row_counts()`, which the dbt asset does
  not call.

Both are replaced here; everything else (selection, environment, event stream, partial
parse file copy) is dagster-dbt's own code.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from importlib import metadata
from typing import Any

from dagster_dbt import DbtCliResource
from packaging import version


class WarehouseDbtCliResource(DbtCliResource):
    """`DbtCliResource` that knows its dbt-core version and builds no adapter."""

    @cached_property
    def _cli_version(self) -> version.Version:
        # The dbt executable is this venv's (pipeline.resources.dbt_executable).
        return version.parse(metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        """No adapter: dagster-dbt passes `None` on to the invocation, which only needs
        one for column metadata and row counts (not fetched here)."""
        return None
