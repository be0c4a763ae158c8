-- One row per mart key that has any statement row, with the row's period_end, currency
-- and filing_id: the rows tie-outs and ratios are computed for. mart_key_id (an integer
-- surrogate) and previous_year_key_id (the same source, symbol and fiscal period one
-- fiscal year earlier, NULL when not loaded) keep the tie-out joins on integers.

with

balance_sheet as (
    select source, symbol, fiscal_year, fiscal_period, period_end, currency, filing_id
    from {{ ref('balance_sheet') }}
),

income_statement as (
    select source, symbol, fiscal_year, fiscal_period, period_end, currency, filing_id
    from {{ ref('income_statement') }}
),

cash_flow_statement as (
    select source, symbol, fiscal_year, fiscal_period, period_end, currency, filing_id
    from {{ ref('cash_flow_statement') }}
),

unioned as (
    select * from balance_sheet
    union all
    select * from income_statement
    union all
    select * from cash_flow_statement
),

keys as (
    -- The statements share one filing_id / period_end / currency per mart key; max() only
    -- collapses the three copies deterministically.
    select
        source,
        symbol,
        fiscal_year,
        fiscal_period,
        max(period_end) as period_end,
        max(currency) as currency,
        max(filing_id) as filing_id
    from unioned
    group by source, symbol, fiscal_year, fiscal_period
),

numbered as (
    select
        row_number() over (order by source, symbol, fiscal_year, fiscal_period) as mart_key_id,
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
