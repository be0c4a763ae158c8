{#- One row per mart key with at least one cash_flow_statement line: statement_lines
    pivoted to the contract's columns (listed once, in cash_flow_statement.yml), plus the
    cash_flow_basis ('period' | 'year_to_date': 10-Q cash flows are year-to-date). -#}
with lines as (
    select * from {{ ref('statement_lines') }}
    where statement = 'cash_flow_statement'
),

keys as (
    select source, symbol, fiscal_year, fiscal_period, cash_flow_basis
    from {{ ref('int_statement_keys') }}
),

pivoted as (
    select
        source,
        symbol,
        fiscal_year,
        fiscal_period,
        period_end,
        currency,
        filing_id,
        {{ statement_pivot_columns(['source', 'symbol', 'fiscal_year', 'fiscal_period', 'period_end', 'currency', 'filing_id', 'cash_flow_basis']) }}
    from lines
    group by source, symbol, fiscal_year, fiscal_period, period_end, currency, filing_id
),

final as (
    select
        pivoted.*,
        keys.cash_flow_basis
    from pivoted
    inner join keys
        on pivoted.source = keys.source
        and pivoted.symbol = keys.symbol
        and pivoted.fiscal_year = keys.fiscal_year
        and pivoted.fiscal_period = keys.fiscal_period
)

select * from final
