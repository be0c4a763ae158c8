{#- Generic test: none of the listed columns holds a NULL, checked in one scan.
    Usage (model, seed or source level):
      data_tests:
        - not_null_columns:
            arguments:
              columns: [source, symbol, fiscal_year]

    It asserts what one `not_null` test per column asserts, as one dbt node (one Dagster
    asset check) per model instead of one per column: a run of the whole project went
    from 390 dbt nodes to about 230, and every node costs dbt and Dagster ~20 ms on the
    seed whatever its size (README, "Cost of a run").

    With severity error (the project's default) a failing test stops with a message
    naming every column that has NULLs and how many rows, e.g.
      not null violated in "financials"."marts"."balance_sheet": filing_id (2 rows), symbol (1 rows)
    (dbt reports it as an error of the test, the Dagster check fails with severity ERROR).
    With severity warn it returns one row per such column (column_name, null_rows), so
    the warning counts the failing columns and `--store-failures` keeps their names. -#}
{% test not_null_columns(model, columns) %}
    {%- set stop = (config.get('severity') or 'error') | lower == 'error' %}
    with null_counts as materialized (
        select
        {%- for column in columns %}
            count(*) filter (where {{ adapter.quote(column) }} is null) as {{ adapter.quote(column) }}
            {{- "," if not loop.last }}
        {%- endfor %}
        from {{ model }}
    ),

    failing as materialized (
        select column_name, null_rows
        from (unpivot null_counts on columns(*) into name column_name value null_rows)
        where null_rows > 0
    )

    select column_name, null_rows
    from failing
    {%- if stop %}
    where (
        select case when count(*) > 0 then error(
            'not null violated in {{ model | string | replace("'", "''") }}: '
            || string_agg(column_name || ' (' || null_rows || ' rows)', ', ' order by column_name))
        end
        from failing
    ) is null
    {%- endif %}
{% endtest %}
