"""`published_warehouse`: the last step of every run, the working database made visible.

Everything upstream (raw, dbt models and seeds, and any other asset of the code
location, e.g. the reports) writes the working database (`config.build_db()`); this
asset copies it over `$WAREHOUSE_DB` atomically (pipeline/publish.py). It depends on
every other asset, so a failed load or a failed dbt model skips it: readers keep the
last good warehouse. A run that selects only part of the graph (a single mart from
the UI) publishes nothing unless it selects this asset too.
"""


from collections.abc import Iterable
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster_duckdb import DuckDBResource

from pipeline.lock import WarehouseLockResource
from pipeline.publish import Published, PublishError, publish

PUBLISHED = AssetKey("published_warehouse")
GROUP = "publish"


def published_metadata(result: Published) -> dict[str, object]:
    """What the UI shows for a publish: which run, when, how big, the row counts."""
    counts = "\n".join(["| table | rows |", "|---|---|"]
                       + [f"| {t} | {n:,} |" for t, n in result.row_counts.items()])
    return {
        "run_id": result.run_id,
        "published_at": result.published_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
        "path": MetadataValue.path(str(result.path)),
        "file_bytes": result.bytes,
        "publish_seconds": MetadataValue.float(round(result.seconds, 3)),
        "method": result.method,
        "snapshots_removed": len(result.removed),
        "raw_filings": result.row_counts.get("raw.filings", 0),
        "raw_facts": result.row_counts.get("raw.facts", 0),
        "row_counts": MetadataValue.md(counts),
    }


def build_published_warehouse(upstream: Iterable[AssetKey]) -> AssetsDefinition:
    """The publish asset, downstream of `upstream` (every other asset of the location)."""

    @asset(
        key=PUBLISHED,
        deps=sorted(set(upstream) - {PUBLISHED}, key=lambda k: k.to_user_string()),
        group_name=GROUP,
        kinds={"duckdb"},
        description=(
            "The working database (<warehouse>/.build/) copied over $WAREHOUSE_DB "
            "atomically (temp file, fsync, rename): readers keep their snapshot, the "
            "next connection sees this run's. meta.snapshot in the file names the run."
        ),
    )
    def published_warehouse(
        context: AssetExecutionContext,
        duckdb: DuckDBResource,
        warehouse_lock: WarehouseLockResource,
    ) -> MaterializeResult:
        try:
            result = publish(context.run_id, published=Path(warehouse_lock.database),
                             working=Path(duckdb.database))
        except PublishError as error:
            raise Failure(description=str(error)) from error
        context.log.info(
            f"published run {result.run_id[:8]} to {result.path} "
            f"({result.bytes / 1e6:,.1f} MB in {result.seconds:.2f} s)")
        return MaterializeResult(metadata=published_metadata(result))

    return published_warehouse
