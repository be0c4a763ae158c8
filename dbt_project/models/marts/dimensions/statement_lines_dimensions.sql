{#-
    The statements long in both dimensions, one row per (dimension, mart key, line item):
    - `MR` (most recent): the values of marts.statement_lines / the statement marts
      (amendments applied by precedence, discrete quarters and derived Q4 included);
    - `AR` (as reported): each reported line item's value as first reported, from the
      filing that first reported it (marts.statement_lines_history revision 1). Values
      as filed: a quarter filed year-to-date has year-to-date cash flows here
      (cash_flow_basis says so); derived values (identities, discrete quarters) are MR only.
    filed_date is the filing date of the filing that supplied the value (known the day
    after).
-#}
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company', on_schema_change='append_new_columns') }}
with lines as (
    select * from {{ changed_only(ref('int_statement_lines'), 'company') }}
),

history as (
    select * from {{ changed_only(ref('statement_lines_history'), 'company') }}
),

versions as (
    select filing_id, filed_date from {{ changed_only(ref('int_filing_versions'), 'company') }}
),

keys as (
    select source, symbol, fiscal_year, fiscal_period, cash_flow_basis
    from {{ changed_only(ref('int_statement_keys'), 'company') }}
),

most_recent as (
    select
        'MR' as dimension,
        lines.source,
        lines.symbol,
        lines.fiscal_year,
        lines.fiscal_period,
        lines.period_end,
        lines.statement,
        lines.line_item,
        lines.value,
        lines.value_filing_id,
        versions.filed_date,
        lines.method,
        lines.derivation,
        case when lines.statement = 'cash_flow_statement' then 'period' end
            as cash_flow_basis
    from lines
    left join versions on lines.value_filing_id = versions.filing_id
),

as_reported as (
    select
        'AR' as dimension,
        history.source,
        history.symbol,
        history.fiscal_year,
        history.fiscal_period,
        history.period_end,
        history.statement,
        history.line_item,
        history.value,
        history.filing_id as value_filing_id,
        history.filed_date,
        'reported' as method,
        cast(null as varchar) as derivation,
        case
            when history.statement = 'cash_flow_statement' then keys.cash_flow_basis
        end as cash_flow_basis
    from history
    left join keys
        on history.source = keys.source
        and history.symbol = keys.symbol
        and history.fiscal_year = keys.fiscal_year
        and history.fiscal_period = keys.fiscal_period
    where history.revision = 1
),

unioned as (
    select * from most_recent
    union all
    select * from as_reported
),

final as (
    select
        cast(dimension as varchar) as dimension,
        cast(source as varchar) as source,
        cast(symbol as varchar) as symbol,
        cast(fiscal_year as integer) as fiscal_year,
        cast(fiscal_period as varchar) as fiscal_period,
        cast(period_end as date) as period_end,
        cast(statement as varchar) as statement,
        cast(line_item as varchar) as line_item,
        cast(value as decimal(38, 10)) as value,
        cast(value_filing_id as varchar) as value_filing_id,
        cast(filed_date as date) as filed_date,
        cast(method as varchar) as method,
        cast(derivation as varchar) as derivation,
        cast(cash_flow_basis as varchar) as cash_flow_basis
    from unioned
)

select * from final
