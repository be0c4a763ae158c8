{#-
    The line items the tie-outs check, per mart key: the statements' lines, except that a
    10-Q's cash-flow flows are taken as the filer states them (year to date, from
    int_statement_lines__as_filed) rather than as the discrete quarters the marts show:
    the identities hold column by column in the filing, and a discrete quarter needs the
    previous quarter's filing. The reading evidence (source concepts) comes from the same
    lines. A view, read by int_tieout__term_values and int_tieout__readings.
-#}
{{ config(materialized='view') }}

with year_to_date_flows as (
    select
        keys.source,
        keys.symbol,
        keys.fiscal_year,
        keys.fiscal_period,
        line_items.statement,
        line_items.line_item
    from {{ ref('int_statement_keys') }} as keys
    inner join {{ ref('line_items') }} as line_items
        on line_items.statement = 'cash_flow_statement'
        and line_items.period_kind <> 'instant'
    where keys.cash_flow_basis = 'year_to_date'
),

as_stated as (
    select
        lines.source,
        lines.symbol,
        lines.fiscal_year,
        lines.fiscal_period,
        lines.statement,
        lines.line_item,
        lines.value,
        lines.method,
        lines.source_concept,
        lines.derivation,
        lines.derivation_rule
    from {{ ref('int_statement_lines') }} as lines
    anti join year_to_date_flows
        on lines.source = year_to_date_flows.source
        and lines.symbol = year_to_date_flows.symbol
        and lines.fiscal_year = year_to_date_flows.fiscal_year
        and lines.fiscal_period = year_to_date_flows.fiscal_period
        and lines.statement = year_to_date_flows.statement
        and lines.line_item = year_to_date_flows.line_item
),

year_to_date as (
    select
        filed.source,
        filed.symbol,
        filed.fiscal_year,
        filed.fiscal_period,
        filed.statement,
        filed.line_item,
        filed.value,
        filed.method,
        filed.source_concept,
        filed.derivation,
        filed.derivation_rule
    from {{ ref('int_statement_lines__as_filed') }} as filed
    inner join year_to_date_flows
        on filed.source = year_to_date_flows.source
        and filed.symbol = year_to_date_flows.symbol
        and filed.fiscal_year = year_to_date_flows.fiscal_year
        and filed.fiscal_period = year_to_date_flows.fiscal_period
        and filed.statement = year_to_date_flows.statement
        and filed.line_item = year_to_date_flows.line_item
),

final as (
    select * from as_stated
    union all
    select * from year_to_date
)

select * from final
