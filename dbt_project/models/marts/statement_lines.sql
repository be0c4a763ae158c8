{#-
    The statements long, as users query it: one row per mart key and non-NULL line item
    with its provenance. A view over int_statement_lines (the table the statements, the
    tie-outs and the ratios are built from), so the largest table is stored once.
-#}
{{ config(materialized='view') }}

with lines as (
    select * from {{ ref('int_statement_lines') }}
),

final as (
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
        method,
        source_concept,
        derivation,
        derivation_rule
    from lines
)

select * from final
