-- Per mart key: how many tie-out rules were evaluated, passed, failed and skipped, the
-- worst failed severity and the score passed / evaluated.
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company', on_schema_change='append_new_columns') }}

with

keys as (
    select * from {{ changed_only(ref('int_tieout__mart_keys'), 'company') }}
),

units as (
    select * from {{ changed_only(ref('int_tieout__rounding_units'), 'company') }}
),

results as (
    select * from {{ changed_only(ref('tieout_results'), 'company') }}
),

counted as (
    select
        source,
        symbol,
        fiscal_year,
        fiscal_period,
        count(*) filter (where status in ('pass', 'fail')) as rules_evaluated,
        count(*) filter (where status = 'pass') as rules_passed,
        count(*) filter (where status = 'fail') as rules_failed,
        count(*) filter (where status = 'skipped') as rules_skipped,
        -- error outranks warn
        max(case severity when 'error' then 2 when 'warn' then 1 end)
            filter (where status = 'fail') as worst_failed_rank
    from results
    group by all
),

final as (
    select
        cast(keys.source as varchar) as source,
        cast(keys.symbol as varchar) as symbol,
        cast(keys.fiscal_year as integer) as fiscal_year,
        cast(keys.fiscal_period as varchar) as fiscal_period,
        cast(keys.period_end as date) as period_end,
        cast(keys.currency as varchar) as currency,
        cast(keys.filing_id as varchar) as filing_id,
        cast(units.rounding_unit as decimal(38, 10)) as rounding_unit,
        cast(coalesce(counted.rules_evaluated, 0) as bigint) as rules_evaluated,
        cast(coalesce(counted.rules_passed, 0) as bigint) as rules_passed,
        cast(coalesce(counted.rules_failed, 0) as bigint) as rules_failed,
        cast(coalesce(counted.rules_skipped, 0) as bigint) as rules_skipped,
        cast(
            case counted.worst_failed_rank when 2 then 'error' when 1 then 'warn' end as varchar
        ) as worst_failed_severity,
        cast(
            case
                when counted.rules_evaluated > 0
                    then counted.rules_passed::double / counted.rules_evaluated::double
            end as double
        ) as score
    from keys
    left join counted
        on keys.source = counted.source
        and keys.symbol = counted.symbol
        and keys.fiscal_year = counted.fiscal_year
        and keys.fiscal_period = counted.fiscal_period
    left join units
        on keys.source = units.source
        and keys.symbol = units.symbol
        and keys.fiscal_year = units.fiscal_year
        and keys.fiscal_period = units.fiscal_period
)

select * from final
