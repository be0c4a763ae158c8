-- financial_ratios_ttm long: one row per quarter key and ratio (the names of
-- macros/ratios_definitions.sql), NULL values included.

with

ratios as (
    select * from {{ ref('financial_ratios_ttm') }}
),

unpivoted as (
    select source, symbol, fiscal_year, fiscal_period, ratio, value
    from ratios
    unpivot include nulls (
        value for ratio in (
            {% for ratio in ratios_definitions() -%}
            {{ ratio.name }}{{ ',' if not loop.last }}
            {% endfor %}
        )
    )
),

final as (
    select
        cast(source as varchar) as source,
        cast(symbol as varchar) as symbol,
        cast(fiscal_year as integer) as fiscal_year,
        cast(fiscal_period as varchar) as fiscal_period,
        cast(ratio as varchar) as ratio,
        cast(value as double) as value
    from unpivoted
)

select * from final
