-- Every ratio in every dimension, long: one row per (dimension, period_type, mart key,
-- ratio). dimension `MR` / `AR`; period_type `FY`, `Q` (the quarter's own) or `TTM`.
-- MR FY / Q: marts.financial_ratios; MR TTM: marts.financial_ratios_ttm; AR FY / Q:
-- marts.financial_ratios_ar (AR TTM is not built).
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company', on_schema_change='append_new_columns') }}

with

mr as (
    select * from {{ changed_only(ref('financial_ratios_long'), 'company') }}
),

mr_ttm as (
    select * from {{ changed_only(ref('financial_ratios_ttm_long'), 'company') }}
),

ar as (
    {{ ratios_long(changed_only(ref('financial_ratios_ar'), 'company')) }}
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
