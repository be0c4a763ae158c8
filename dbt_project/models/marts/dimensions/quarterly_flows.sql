{#-
    Discrete quarters of every monetary flow line item, long, NULLs included with their
    reason, and the year-to-date figures kept apart (year_to_date_value): what the quarterly
    rows of marts.income_statement / marts.cash_flow_statement are built from.
    See int_quarterly_flows and the README (Dimensions).
-#}
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company', on_schema_change='append_new_columns') }}
with quarters as (
    select * from {{ changed_only(ref('int_quarterly_flows'), 'company') }}
),

final as (
    select
        source,
        symbol,
        fiscal_year,
        fiscal_period,
        period_start,
        period_end,
        currency,
        filing_id,
        statement,
        line_item,
        value,
        year_to_date_value,
        quarter_method,
        value_filing_id,
        derivation,
        derivation_rule,
        null_reason
    from quarters
)

select * from final
