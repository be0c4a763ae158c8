"""Extract and load: input files -> `raw.*` tables (see CONTRACT.md, Input and raw schema)."""
