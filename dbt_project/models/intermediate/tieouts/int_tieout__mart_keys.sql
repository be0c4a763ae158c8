-- One row per mart key that has any statement line (the rows of the statement marts),
-- with the row's period_end, currency and filing_id: the rows tie-outs and ratios are
-- computed for. mart_key_id (an integer surrogate: a hash of the key, so a company's ids
-- do not move when another company is added, which incremental builds rely on) and previous_year_key_id (the same source, symbol and fiscal period one
-- fiscal year earlier, NULL when not loaded) keep the tie-out joins on integers.
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company') }}

with

keys as (
    -- Every line of a mart key carries the key's period_end, currency and filing_id
    -- (int_statement_keys); these are exactly the rows of the three statement marts.
    select distinct
        source,
        symbol,
        fiscal_year,
        fiscal_period,
        period_end,
        currency,
        filing_id
    from {{ changed_only(ref('int_statement_lines'), 'company') }}
),

numbered as (
    select
        hash(source, symbol, fiscal_year, fiscal_period) as mart_key_id,
        *
    from keys
),

final as (
    select
        numbered.mart_key_id,
        numbered.source,
        numbered.symbol,
        numbered.fiscal_year,
        numbered.fiscal_period,
        numbered.period_end,
        numbered.currency,
        numbered.filing_id,
        previous_year.mart_key_id as previous_year_key_id
    from numbered
    left join numbered as previous_year
        on numbered.source = previous_year.source
        and numbered.symbol = previous_year.symbol
        and numbered.fiscal_year - 1 = previous_year.fiscal_year
        and numbered.fiscal_period = previous_year.fiscal_period
)

select * from final
