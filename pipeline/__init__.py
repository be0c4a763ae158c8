"""Financial statements warehouse: Dagster code location, loader and operations."""
