"""Every dbt model, seed and test as Dagster assets and asset checks, one lineage graph.

The translator maps dbt sources onto the keys the Python load asset produces
(`["raw", <table>]`), so the UI shows raw -> staging -> marts as one graph rather than
two islands joined by "external" stubs. Groups are the dbt layers, one folder each, in
dependency order: `staging` -> `intermediate` -> `marts` -> `quality` (tie-out results,
filing quality, filing coverage); dbt seeds are `reference`. dbt tests become asset
checks on the model they test (dagster-dbt's default).
"""


import shutil
import signal
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from dagster_duckdb import DuckDBResource

from pipeline import warehouse
from pipeline.dbt_parse import prepare_manifest
from pipeline.lock import WarehouseLockResource
from pipeline.resources import dbt_project

RAW_SCHEMA = "raw"
# The model folders, in dependency order: a model reads only its own layer or earlier
# ones (tests/test_layers.py walks the manifest). Each folder is a Dagster group.
LAYERS = ("staging", "intermediate", "marts", "quality")


class WarehouseDbtTranslator(DagsterDbtTranslator):
    """Keys `[schema, name]` (`["marts", "balance_sheet"]`), sources on the raw asset keys."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        kind = dbt_resource_props["resource_type"]
        if kind == "source":  # the one place sources are keyed (no meta in the yml)
            return AssetKey([RAW_SCHEMA, dbt_resource_props["name"]])
        schema = dbt_resource_props.get("config", {}).get("schema") or dbt_resource_props.get(
            "schema") or "main"
        return AssetKey([schema, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        kind = dbt_resource_props["resource_type"]
        if kind == "source":
            return "raw"
        if kind == "seed":
            return "reference"
        return model_layer(dbt_resource_props)

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        described = (dbt_resource_props.get("description") or "").strip()
        where = dbt_resource_props.get("original_file_path", "")
        kind = dbt_resource_props["resource_type"]
        fallback = f"dbt {kind} `{dbt_resource_props['name']}` ({where})."
        return f"{described}\n\n{fallback}" if described else fallback


def model_layer(dbt_resource_props: Mapping[str, Any]) -> str:
    """The layer (top folder under models/) of a dbt model, test or snapshot."""
    folders = dbt_resource_props.get("fqn", [])[1:-1]
    if folders and folders[0] in LAYERS:
        return folders[0]
    raise ValueError(
        f"dbt node {dbt_resource_props.get('unique_id')} is outside the layer folders "
        f"{LAYERS}: put it in one of them"
    )


TRANSLATOR = WarehouseDbtTranslator()


def build_dbt_assets(project: DbtProject) -> AssetsDefinition:
    """The @dbt_assets of a dbt project (tests build one over a deliberately broken copy)."""

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=TRANSLATOR,
        name="dbt_models",
    )
    def dbt_models(
        context: AssetExecutionContext,
        dbt: DbtCliResource,
        duckdb: DuckDBResource,
        warehouse_lock: WarehouseLockResource,
    ) -> Iterator[Any]:
        """`dbt build` of the selected models, seeds and tests, as one DuckDB writer.

        Tie-out failures are rows of marts.tieout_results, not dbt test failures, so they
        never stop this step; a failing model leaves the previous version of it and of
        everything downstream in place (dbt-duckdb swaps tables only on success).
        """
        del warehouse_lock  # required so the run holds the warehouse lock from its start
        with warehouse.dbt_environment(duckdb.database):
            invocation = dbt.cli(["build"], context=context, raise_on_error=True)
        try:
            yield from invocation.stream()
        finally:
            # If the step fails while dbt still runs, dbt must not outlive it: it would
            # keep writing the warehouse after the run lock is released.
            _stop(invocation.process)
        # Each invocation gets its own target folder; keep it only when something failed
        # (its dbt.log explains), otherwise a daily schedule fills the disk.
        _remove_target(invocation.target_path, Path(project.project_dir) / "target")

    return dbt_models


def _stop(process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)  # dbt rolls back the model in progress
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _remove_target(target: Path, project_target: Path) -> None:
    project_target = project_target.resolve()
    target = Path(target).resolve()
    if target != project_target and project_target in target.parents:
        shutil.rmtree(target, ignore_errors=True)


prepare_manifest()  # @dbt_assets reads target/manifest.json: fresh before it does
dbt_models = build_dbt_assets(dbt_project)
