{#-
    The statements long (built here, in the intermediate layer, so the tie-outs and the
    ratios read it without waiting on a mart): one row per mart key and non-NULL line
    item, with provenance:
    value_filing_id (the version that supplied the value), method ('reported' |
    'derived'), source_concept (reported only), derivation (the formula, derived only) and
    derivation_rule (the identity's rule_id that produced a derived value, else NULL).
-#}
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company') }}
with keys as (
    select * from {{ changed_only(ref('int_statement_keys'), 'company') }}
),

filed as (
    select * from {{ changed_only(ref('int_statement_lines__as_filed'), 'company') }}
),

line_items as (
    select statement, line_item, ordinal, period_kind from {{ ref('line_items') }}
),

lines as (
    -- a year-to-date quarter keeps only its cash-flow instants; its flows come discrete
    select filed.*
    from filed
    inner join keys
        on filed.source = keys.source
        and filed.symbol = keys.symbol
        and filed.fiscal_year = keys.fiscal_year
        and filed.fiscal_period = keys.fiscal_period
    inner join line_items
        on filed.statement = line_items.statement
        and filed.line_item = line_items.line_item
    where not (
        keys.cash_flow_basis = 'year_to_date'
        and filed.statement = 'cash_flow_statement'
        and line_items.period_kind <> 'instant'
    )
),

quarters as (
    select
        source,
        symbol,
        fiscal_year,
        fiscal_period,
        period_end,
        currency,
        filing_id,
        statement,
        line_item,
        value,
        value_filing_id,
        'derived' as method,
        cast(null as varchar) as source_concept,
        derivation,
        derivation_rule
    from {{ changed_only(ref('int_statement_lines__quarters'), 'company') }}
),

final as (
    select
        keys.source,
        keys.symbol,
        keys.fiscal_year,
        keys.fiscal_period,
        keys.period_end,
        keys.currency,
        keys.filing_id,
        lines.statement,
        lines.line_item,
        cast(lines.value as decimal(38, 10)) as value,
        lines.value_filing_id,
        lines.method,
        lines.source_concept,
        lines.derivation,
        lines.derivation_rule
    from lines
    inner join keys
        on lines.source = keys.source
        and lines.symbol = keys.symbol
        and lines.fiscal_year = keys.fiscal_year
        and lines.fiscal_period = keys.fiscal_period
    inner join line_items
        on lines.statement = line_items.statement
        and lines.line_item = line_items.line_item
    -- no ORDER BY: a full sort of every line of the warehouse (6M wide rows at 10,000
    -- companies) ran out of memory; queries order what they read
    where lines.value is not null

    union all

    select
        source,
        symbol,
        fiscal_year,
        fiscal_period,
        period_end,
        currency,
        filing_id,
        statement,
        line_item,
        cast(value as decimal(38, 10)) as value,
        value_filing_id,
        method,
        source_concept,
        derivation,
        derivation_rule
    from quarters
)

select * from final
