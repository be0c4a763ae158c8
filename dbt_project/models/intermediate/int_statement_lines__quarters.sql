{#-
    The discrete-quarter lines int_statement_lines takes from int_quarterly_flows, so the
    statement marts' quarterly rows are discrete quarters:
    1. flows differenced from year-to-date or annual figures (Q2 = 6M - Q1, Q3 = 9M - 6M,
       Q4 = FY - 9M): method 'derived', the formula in `derivation`;
    2. cash_beginning_of_period of a quarter filed year-to-date (its filed opening balance
       is the fiscal year's): the previous quarter's reported cash_end_of_period, carried
       forward (derivation_rule NULL, as for annual rows).
    The year-to-date figures these replace stay in marts.quarterly_flows
    (year_to_date_value). Rows carry their key's period_end, currency and filing_id (a
    derived Q4 those of the FY row).
-#}
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company') }}
with quarters as (
    select * from {{ changed_only(ref('int_quarterly_flows'), 'company') }}
),

keys as (
    select * from {{ changed_only(ref('int_statement_keys'), 'company') }}
),

reported as (
    select * from {{ changed_only(ref('int_statement_lines__reported'), 'company') }}
),

differenced as (
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
        derivation,
        derivation_rule
    from quarters
    where value is not null
        and quarter_method <> 'as_filed'
),

opening_carried as (
    select
        keys.source,
        keys.symbol,
        keys.fiscal_year,
        keys.fiscal_period,
        keys.period_end,
        keys.currency,
        keys.filing_id,
        'cash_flow_statement' as statement,
        'cash_beginning_of_period' as line_item,
        previous_quarter.value,
        previous_quarter.value_filing_id,
        'cash_end_of_period of ' || previous_quarter.fiscal_period || ' ' || keys.fiscal_year
            || ', carried forward' as derivation,
        cast(null as varchar) as derivation_rule
    from keys
    inner join reported as previous_quarter
        on keys.source = previous_quarter.source
        and keys.symbol = previous_quarter.symbol
        and keys.fiscal_year = previous_quarter.fiscal_year
        and previous_quarter.fiscal_period
            = 'Q' || (cast(substr(keys.fiscal_period, 2) as integer) - 1)
        and previous_quarter.line_item = 'cash_end_of_period'
    where keys.cash_flow_basis = 'year_to_date'
        and keys.fiscal_period in ('Q2', 'Q3', 'Q4')
),

final as (
    select * from differenced
    union all
    select * from opening_carried
)

select * from final
