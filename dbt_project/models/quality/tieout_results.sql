-- One row per (mart key, rule): the tie-out's lhs, rhs, difference, tolerance and status.
-- Failures are data: no dbt test asserts that a rule passes.
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company', on_schema_change='append_new_columns') }}

with

evaluations as (
    select * from {{ changed_only(ref('int_tieout__evaluations'), 'company') }}
),

final as (
    select
        cast(source as varchar) as source,
        cast(symbol as varchar) as symbol,
        cast(fiscal_year as integer) as fiscal_year,
        cast(fiscal_period as varchar) as fiscal_period,
        cast(filing_id as varchar) as filing_id,
        cast(period_end as date) as period_end,
        cast(rule_id as varchar) as rule_id,
        cast(severity as varchar) as severity,
        cast(lhs as decimal(38, 10)) as lhs,
        cast(rhs as decimal(38, 10)) as rhs,
        cast(difference as decimal(38, 10)) as difference,
        cast(rounding_unit as decimal(38, 10)) as rounding_unit,
        cast(tolerance as decimal(38, 10)) as tolerance,
        cast(status as varchar) as status,
        cast(detail as varchar) as detail
    from evaluations
)

select * from final
