{#-
    Ratios on trailing twelve months: one row per quarter key with TTM flows
    (marts.ttm_flows), every ratio of macros/ratios_definitions.sql with
    - flows (income statement, cash flow) = the TTM sums (NULL where the TTM is NULL: a
      missing or non-consecutive quarter never yields a ratio),
    - balances = the balance sheet at the quarter's end (for a Q4, the FY balance sheet of
      the same date); avg(x) = (x four quarters earlier + x) / 2 when that balance sheet is
      loaded (balance_basis 'average'), else x ('closing'),
    - days_in_period = 365; growth against the TTM four quarters earlier;
    - weighted_shares_basic = the quarter's own (a derived Q4: the FY's, the year's average),
      eps_basic NULL (per-share values are not summed), so eps_growth is NULL.
    null_reason: why TTM revenue is NULL (without a revenue line: why the window is incomplete).
-#}
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company', on_schema_change='append_new_columns') }}
{%- set flows = ['revenue', 'gross_profit', 'operating_income', 'interest_expense',
                 'pretax_income', 'income_tax_expense', 'net_income_to_parent',
                 'net_cash_operating', 'free_cash_flow', 'capital_expenditure',
                 'dividends_paid', 'depreciation_and_amortization'] -%}
{%- set balances = ['cash_and_equivalents', 'short_term_investments', 'accounts_receivable',
                    'total_current_assets', 'goodwill', 'intangible_assets', 'total_assets',
                    'short_term_debt', 'total_current_liabilities', 'long_term_debt',
                    'total_liabilities', 'stockholders_equity', 'shares_outstanding'] -%}
with ttm as (
    select * from {{ changed_only(ref('ttm_flows'), 'company') }}
),

balance_sheet as (
    select * from {{ changed_only(ref('balance_sheet'), 'company') }}
    -- one balance sheet per date: the FY row where a quarter shares its date
    qualify row_number() over (
        partition by source, symbol, period_end
        order by (fiscal_period = 'FY') desc, fiscal_year desc
    ) = 1
),

income_statement as (
    select * from {{ changed_only(ref('income_statement'), 'company') }}
),

ttm_keys as (
    select
        source,
        symbol,
        fiscal_year,
        fiscal_period,
        any_value(period_end) as period_end,
        any_value(currency) as currency,
        any_value(filing_id) as filing_id,
        -- why TTM revenue is NULL (missing or non-consecutive quarters, or a quarter
        -- without revenue); without a revenue line, why the window is incomplete
        coalesce(
            max(null_reason) filter (where line_item = 'revenue'),
            min(null_reason) filter (where null_reason not like 'no %')
        ) as null_reason,
        {%- for f in flows %}
        max(value) filter (where line_item = '{{ f }}') as {{ f }}{{ ',' if not loop.last }}
        {%- endfor %}
    from ttm
    group by source, symbol, fiscal_year, fiscal_period
),

statements as (
    select
        ttm_keys.*,
        balance_sheet.symbol is not null as has_balance_sheet,
        {%- for b in balances %}
        balance_sheet.{{ b }},
        {%- endfor %}
        coalesce(quarter.weighted_shares_basic, annual.weighted_shares_basic)
            as weighted_shares_basic,
        cast(null as decimal(38, 10)) as eps_basic
    from ttm_keys
    left join balance_sheet
        on ttm_keys.source = balance_sheet.source
        and ttm_keys.symbol = balance_sheet.symbol
        and ttm_keys.period_end = balance_sheet.period_end
    left join income_statement as quarter
        on ttm_keys.source = quarter.source
        and ttm_keys.symbol = quarter.symbol
        and ttm_keys.fiscal_year = quarter.fiscal_year
        and ttm_keys.fiscal_period = quarter.fiscal_period
    left join income_statement as annual
        on ttm_keys.source = annual.source
        and ttm_keys.symbol = annual.symbol
        and ttm_keys.fiscal_year = annual.fiscal_year
        and annual.fiscal_period = 'FY'
        and ttm_keys.fiscal_period = 'Q4'
),

prepared as (
    select
        *,
        net_income_to_parent as ni,
        case
            when short_term_debt is null and long_term_debt is null then null
            else coalesce(short_term_debt, 0) + coalesce(long_term_debt, 0)
        end as debt,
        pretax_income + coalesce(interest_expense, 0) as ebit,
        365.0 as days_in_period,
        net_cash_operating as net_cash_operating_p,
        free_cash_flow as free_cash_flow_p,
        capital_expenditure as capital_expenditure_p,
        dividends_paid as dividends_paid_p,
        depreciation_and_amortization as depreciation_and_amortization_p
    from statements
),

inputs as (
    {{ ratios_prior_year_inputs('prepared') }}
),

final as (
    select
        cast(source as varchar) as source,
        cast(symbol as varchar) as symbol,
        cast(fiscal_year as integer) as fiscal_year,
        cast(fiscal_period as varchar) as fiscal_period,
        cast(period_end as date) as period_end,
        cast(currency as varchar) as currency,
        cast(filing_id as varchar) as filing_id,
        cast(balance_basis as varchar) as balance_basis,
        cast(null_reason as varchar) as null_reason,
        {% for ratio in ratios_definitions() -%}
        cast({{ ratio.expression }} as double) as {{ ratio.name }}{{ ',' if not loop.last }}
        {% endfor -%}
    from inputs
)

select * from final
