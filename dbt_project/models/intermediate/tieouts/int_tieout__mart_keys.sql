-- One row per mart key that has any statement row, with the row's period_end, currency
-- and filing_id: the rows tie-outs and ratios are computed for.

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

final as (
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
)

select * from final
