{#- Generic test: each listed column holds only its accepted values (NULLs pass, as in
    dbt's accepted_values; the values are compared as quoted literals, its default).
    Usage (model or seed level), for a node with several such columns:
      data_tests:
        - accepted_values_columns:
            arguments:
              values:
                status: [pass, fail, skipped]
                severity: [error, warn]

    One dbt node (one Dagster asset check) instead of one accepted_values node per column:
    every node costs dbt and Dagster ~20-50 ms whatever its size (README, "Fixed cost of a
    run"). With severity error (the project's default) a failure stops with a message
    naming each column and value found, e.g.
      accepted values violated in "financials"."marts"."tieout_results": status = 'maybe' (3 rows)
    With severity warn it returns one row per (column_name, value, rows). -#}
{% test accepted_values_columns(model, values) %}
    {%- set stop = (config.get('severity') or 'error') | lower == 'error' %}
    with unexpected as materialized (
    {%- for column, accepted in values.items() %}
        select '{{ column }}' as column_name, cast({{ adapter.quote(column) }} as varchar) as value,
               count(*) as rows
        from {{ model }}
        where {{ adapter.quote(column) }} is not null
          and {{ adapter.quote(column) }} not in (
            {%- for v in accepted %}'{{ v | string | replace("'", "''") }}'{{ ", " if not loop.last }}{% endfor -%}
          )
        group by 2
        {{ "union all" if not loop.last }}
    {%- endfor %}
    )

    select column_name, value, rows
    from unexpected
    {%- if stop %}
    where (
        select case when count(*) > 0 then error(
            'accepted values violated in {{ model | string | replace("'", "''") }}: '
            || string_agg(column_name || ' = ''' || value || ''' (' || rows || ' rows)', ', '
                          order by column_name, value))
        end
        from unexpected
    ) is null
    {%- endif %}
{% endtest %}
