"""The dbt layers are in dependency order: no model reads a model of a later layer.

Walks the compiled manifest (target/manifest.json, built by `make` before the tests), so
a new model that reads a later layer fails here, with the edge named.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.assets.dbt import LAYERS, model_layer
from pipeline.config import DBT_PROJECT_DIR

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


def _models() -> dict[str, dict]:
    nodes = json.loads(Path(MANIFEST).read_text())["nodes"]
    return {uid: node for uid, node in nodes.items() if node["resource_type"] == "model"}


def test_every_model_sits_in_a_layer_folder() -> None:
    models = _models()
    assert len(models) >= 25
    layers = {uid: model_layer(node) for uid, node in models.items()}
    assert set(layers.values()) == set(LAYERS)
    assert layers["model.financials.tieout_results"] == "quality"
    assert layers["model.financials.filing_coverage"] == "quality"
    assert layers["model.financials.int_tieout__evaluations"] == "intermediate"


def test_no_model_reads_a_later_layer() -> None:
    models = _models()
    rank = {layer: i for i, layer in enumerate(LAYERS)}
    backwards = []
    for uid, node in models.items():
        here = rank[model_layer(node)]
        for parent in node["depends_on"]["nodes"]:
            if parent in models and rank[model_layer(models[parent])] > here:
                backwards.append(f"{uid} ({model_layer(node)}) reads {parent} "
                                 f"({model_layer(models[parent])})")
    assert backwards == []


def test_marts_do_not_wait_on_the_quality_layer() -> None:
    """financial_ratios takes its tie-out failures from the evaluations, not tieout_results."""
    parents = _models()["model.financials.financial_ratios"]["depends_on"]["nodes"]
    assert "model.financials.int_tieout__evaluations" in parents
    assert "model.financials.tieout_results" not in parents
