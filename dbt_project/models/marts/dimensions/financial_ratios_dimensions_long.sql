-- Every ratio in every dimension, long: one row per (dimension, period_type, mart key,
-- ratio). dimension `MR` / `AR`; period_type `FY`, `Q` (the quarter's own) or `TTM`.
-- MR FY / Q: marts.financial_ratios; MR TTM: marts.financial_ratios_ttm; AR FY / Q:
-- marts.financial_ratios_ar (AR TTM is not built).

with

mr as (
    select * from {{ ref('financial_ratios_long') }}
),

mr_ttm as (
    select * from {{ ref('financial_ratios_ttm_long') }}
),

ar as (
    {{ ratios_long(ref('financial_ratios_ar')) }}
),

unioned as (
    select 'MR' as dimension, case when fiscal_period = 'FY' then 'FY' else 'Q' end
        as period_type, * from mr
    union all
    select 'MR' as dimension, 'TTM' as period_type, * from mr_ttm
    union all
    select 'AR' as dimension, case when fiscal_period = 'FY' then 'FY' else 'Q' end
        as period_type, * from ar
),

final as (
    select
        cast(dimension as varchar) as dimension,
        cast(period_type as varchar) as period_type,
        cast(source as varchar) as source,
        cast(symbol as varchar) as symbol,
        cast(fiscal_year as integer) as fiscal_year,
        cast(fiscal_period as varchar) as fiscal_period,
        cast(ratio as varchar) as ratio,
        cast(value as double) as value
    from unioned
)

select * from final
