{#-
    The line items as the filings state them: reported values (concept map, version
    precedence) and the values derived from them (derivations seed), one row per mart key
    and line item. A 10-Q's cash flows are here year-to-date, as filed; int_statement_lines
    replaces them with discrete quarters for the marts, while the tie-outs check the
    filer's own (year-to-date) columns. A view: the union of two tables, read twice.
-#}
{{ config(materialized='view') }}

with reported as (
    select
        source,
        symbol,
        fiscal_year,
        fiscal_period,
        statement,
        line_item,
        value,
        value_filing_id,
        'reported' as method,
        source_concept,
        cast(null as varchar) as derivation,
        cast(null as varchar) as derivation_rule
    from {{ ref('int_statement_lines__reported') }}
),

derived as (
    select
        source,
        symbol,
        fiscal_year,
        fiscal_period,
        statement,
        line_item,
        value,
        value_filing_id,
        'derived' as method,
        cast(null as varchar) as source_concept,
        derivation,
        derivation_rule
    from {{ ref('int_statement_lines__derived') }}
),

final as (
    select * from reported
    union all
    select * from derived
)

select * from final
