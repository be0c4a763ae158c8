{#-
    A ratios table long: one row per key and ratio (the names of ratios_definitions()),
    NULL values included, typed as the long marts' contracts say. Used by
    financial_ratios_long, financial_ratios_ttm_long and financial_ratios_dimensions_long.
-#}
{% macro ratios_long(relation) -%}
    select
        cast(source as varchar) as source,
        cast(symbol as varchar) as symbol,
        cast(fiscal_year as integer) as fiscal_year,
        cast(fiscal_period as varchar) as fiscal_period,
        cast(ratio as varchar) as ratio,
        cast(value as double) as value
    from {{ relation }}
    unpivot include nulls (
        value for ratio in (
            {% for ratio in ratios_definitions() -%}
            {{ ratio.name }}{{ ',' if not loop.last }}
            {% endfor %}
        )
    )
{%- endmacro %}
