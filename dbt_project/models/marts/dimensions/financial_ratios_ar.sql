{#-
    Ratios on as-reported values (dimension AR): one row per mart key with AR values in
    marts.statement_lines_dimensions, every ratio of macros/ratios_definitions.sql computed
    as marts.financial_ratios computes them (same inputs CTE names), on each line item's
    value as first reported. AR quarters are as filed: a quarter's year-to-date cash flows
    (cash_flow_basis 'year_to_date') never meet its revenue, balances or NI (those ratios are
    NULL, as financial_ratios did before quarters were made discrete); growth against the
    same fiscal period one year earlier, as reported then. Derived values (identities,
    discrete quarters) are MR only, so a ratio whose term a filer does not report is NULL
    here where MR may have it.
-#}
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company', on_schema_change='append_new_columns') }}
{%- set items = ['cash_and_equivalents', 'short_term_investments', 'accounts_receivable',
                 'total_current_assets', 'goodwill', 'intangible_assets', 'total_assets',
                 'short_term_debt', 'total_current_liabilities', 'long_term_debt',
                 'total_liabilities', 'stockholders_equity', 'shares_outstanding',
                 'revenue', 'gross_profit', 'operating_income', 'interest_expense',
                 'pretax_income', 'income_tax_expense', 'net_income_to_parent', 'eps_basic',
                 'weighted_shares_basic', 'net_cash_operating', 'free_cash_flow',
                 'capital_expenditure', 'dividends_paid', 'depreciation_and_amortization'] -%}
with lines as (
    select * from {{ changed_only(ref('statement_lines_dimensions'), 'company') }}
    where dimension = 'AR'
),

statements as (
    select
        source,
        symbol,
        fiscal_year,
        fiscal_period,
        any_value(period_end) as period_end,
        bool_or(statement = 'balance_sheet') as has_balance_sheet,
        coalesce(
            max(cash_flow_basis) filter (where statement = 'cash_flow_statement'), 'period'
        ) as cash_flow_basis,
        {%- for item in items %}
        max(value) filter (where line_item = '{{ item }}') as {{ item }}{{ ',' if not loop.last }}
        {%- endfor %}
    from lines
    group by source, symbol, fiscal_year, fiscal_period
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
        case
            when fiscal_period = 'FY' then 365.0
            when fiscal_period in ('Q1', 'Q2', 'Q3', 'Q4') then 91.25
        end as days_in_period,
        cash_flow_basis = 'year_to_date' as is_year_to_date,
        case when not is_year_to_date then net_cash_operating end as net_cash_operating_p,
        case when not is_year_to_date then free_cash_flow end as free_cash_flow_p,
        case when not is_year_to_date then capital_expenditure end as capital_expenditure_p,
        case when not is_year_to_date then dividends_paid end as dividends_paid_p,
        case when not is_year_to_date then depreciation_and_amortization end
            as depreciation_and_amortization_p
    from statements
),

inputs as (
    {{ ratios_prior_year_inputs('prepared', compare_cash_flow_basis=true) }}
),

final as (
    select
        cast(source as varchar) as source,
        cast(symbol as varchar) as symbol,
        cast(fiscal_year as integer) as fiscal_year,
        cast(fiscal_period as varchar) as fiscal_period,
        cast(period_end as date) as period_end,
        cast(cash_flow_basis as varchar) as cash_flow_basis,
        cast(balance_basis as varchar) as balance_basis,
        {% for ratio in ratios_definitions() -%}
        cast({{ ratio.expression }} as double) as {{ ratio.name }}{{ ',' if not loop.last }}
        {% endfor -%}
    from inputs
)

select * from final
