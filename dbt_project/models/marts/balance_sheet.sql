{#- One row per mart key with at least one balance_sheet line: statement_lines pivoted to
    the contract's columns (listed once, in balance_sheet.yml). -#}
with lines as (
    select * from {{ ref('statement_lines') }}
    where statement = 'balance_sheet'
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
        {{ statement_pivot_columns(['source', 'symbol', 'fiscal_year', 'fiscal_period', 'period_end', 'currency', 'filing_id']) }}
    from lines
    group by source, symbol, fiscal_year, fiscal_period, period_end, currency, filing_id
)

select * from final
