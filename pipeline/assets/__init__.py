"""Dagster assets: extract/load (raw), fetch, and the dbt project."""
