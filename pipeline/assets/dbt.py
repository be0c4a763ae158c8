"""Every dbt model, seed and test as Dagster assets and asset checks, one lineage graph.

The translator maps dbt sources onto the keys the Python load asset produces
(`["raw", <table>]`), so the UI shows raw -> staging -> marts as one graph rather than
two islands joined by "external" stubs. Groups are the dbt layers, one folder each, in
dependency order: `staging` -> `intermediate` -> `marts` -> `quality` (tie-out results,
filing quality, filing coverage); dbt seeds are `reference`. dbt tests become asset
checks on the model they test (dagster-dbt's default).
"""


import signal
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetObservation, AssetsDefinition
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from dagster_duckdb import DuckDBResource

from pipeline import noop, warehouse
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
# The asset that carries the "skipped: upstream unchanged" observation of a no-op run.
MARKER_KEY = AssetKey(["marts", "tieout_results"])


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
        full_selection = _full_selection(context)
        with warehouse.session(duckdb.database) as con:
            decision = noop.decide(
                con, project_dir=Path(project.project_dir),
                published=Path(warehouse_lock.database),
                full_refresh=context.run.tags.get(noop.FULL_REFRESH_TAG) == "true",
                full_selection=full_selection)
            if not decision.skip:
                noop.record_start(con, context.run_id, decision, full_selection)
        if decision.skip:
            # Nothing is materialized: the outputs are optional, so Dagster skips what
            # depends on them (tie-out checks, publish) and the UI shows the step skipped.
            context.log.info(f"dbt build {noop.SKIP_REASON} (no file loaded and no dbt "
                             f"project change since the build of run "
                             f"{(decision.last_build_run_id or '')[:8]})")
            yield AssetObservation(asset_key=MARKER_KEY, metadata={
                "dbt_build": noop.SKIP_REASON,
                "last_build_run_id": decision.last_build_run_id or "",
                "project_hash": decision.project_hash[:16]})
            return
        context.log.info(f"dbt build: {decision.reason}; {decision.refresh_reason}")
        args = ["build", "--full-refresh"] if decision.full_refresh else ["build"]
        with warehouse.dbt_environment(duckdb.database):
            invocation = dbt.cli(args, context=context, raise_on_error=True,
                                 target_path=dbt_target_path(duckdb.database))
        try:
            yield from invocation.stream()
        finally:
            # If the step fails while dbt still runs, dbt must not outlive it: it would
            # keep writing the warehouse after the run lock is released.
            _stop(invocation.process)
        with warehouse.session(duckdb.database) as con:
            noop.record_success(con, context.run_id)

    return dbt_models


def _full_selection(context: AssetExecutionContext) -> bool:
    """Every model, seed and test of the project selected (not one mart from the UI)."""
    definition = context.assets_def
    return (set(context.selected_asset_keys) == set(definition.keys)
            and set(context.selected_asset_check_keys) == set(definition.check_keys))


def _stop(process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)  # dbt rolls back the model in progress
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def dbt_target_path(database: str | Path) -> Path:
    """dbt's target folder of a warehouse: beside its working database, one per file.

    dbt's partial parse (`partial_parse.msgpack`) is only reused when the profile is the
    same, and the profile names the database path: one folder per working database
    keeps the cache valid from run to run (dbt re-parses only changed files), where a
    fresh folder per invocation made every run parse the whole project (~4 s on two
    cores). Runs of one warehouse hold its run lock, so they never share the folder at
    the same time; each run overwrites the previous artifacts (dbt.log rotates), so a
    daily schedule does not fill the disk. The first run of a warehouse starts from the
    project's `target/partial_parse.msgpack` (dagster-dbt copies it in; `make parse`
    parses for the default working database, see pipeline/dbt_parse.py).
    """
    db = Path(database)
    return db.with_name(f"{db.stem}.dbt_target")


prepare_manifest()  # @dbt_assets reads target/manifest.json: fresh before it does
dbt_models = build_dbt_assets(dbt_project)
