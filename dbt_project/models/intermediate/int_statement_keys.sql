{#-
    One row per mart key with a reported line item: the mart row's filing_id (the
    highest-precedence version reporting at least one line item: the best version_rank
    among the versions that supplied a winning line, which is the best rank among all
    versions reporting any line), that version's period_end and currency, and the
    cash-flow basis ('year_to_date' when any reported cash-flow line is year-to-date).
-#}
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company') }}
with reported as (
    select * from {{ changed_only(ref('int_statement_lines__reported'), 'company') }}
),

versions as (
    select * from {{ changed_only(ref('int_filing_versions'), 'company') }}
),

per_key as (
    select
        source,
        symbol,
        fiscal_year,
        fiscal_period,
        arg_min(value_filing_id, value_version_rank) as filing_id,
        -- 'year_to_date' sorts after 'period': max() is 'year_to_date' if any line is
        coalesce(
            max(cash_flow_basis) filter (where statement = 'cash_flow_statement'),
            'period'
        ) as cash_flow_basis
    from reported
    group by source, symbol, fiscal_year, fiscal_period
),

final as (
    select
        per_key.source,
        per_key.symbol,
        per_key.fiscal_year,
        per_key.fiscal_period,
        versions.period_end,
        versions.currency,
        per_key.filing_id,
        per_key.cash_flow_basis
    from per_key
    inner join versions
        on per_key.filing_id = versions.filing_id
)

select * from final
