-- One row per mart key: the contract's ratios plus the fundamentals extras, each formula
-- written once in macros/ratios_definitions.sql. Safe arithmetic (NULL on a zero or
-- missing denominator), flags for readings a negative denominator flips, and the row's
-- failed tie-out rules.
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company', on_schema_change='append_new_columns') }}

with

keys as (
    select * from {{ changed_only(ref('int_tieout__mart_keys'), 'company') }}
),

balance_sheet as (
    select * from {{ changed_only(ref('balance_sheet'), 'company') }}
),

income_statement as (
    select * from {{ changed_only(ref('income_statement'), 'company') }}
),

cash_flow_statement as (
    select * from {{ changed_only(ref('cash_flow_statement'), 'company') }}
),

tieout_failures as (
    select
        source,
        symbol,
        fiscal_year,
        fiscal_period,
        list(rule_id order by rule_id) as tieout_failures
    -- the evaluations (intermediate), not marts.tieout_results (quality layer): a mart
    -- never waits on a later layer
    from {{ changed_only(ref('int_tieout__evaluations'), 'company') }}
    where status = 'fail'
    group by all
),

statements as (
    select
        keys.source,
        keys.symbol,
        keys.fiscal_year,
        keys.fiscal_period,
        keys.period_end,
        keys.currency,
        keys.filing_id,
        balance_sheet.symbol is not null as has_balance_sheet,
        balance_sheet.cash_and_equivalents,
        balance_sheet.short_term_investments,
        balance_sheet.accounts_receivable,
        balance_sheet.total_current_assets,
        balance_sheet.goodwill,
        balance_sheet.intangible_assets,
        balance_sheet.total_assets,
        balance_sheet.short_term_debt,
        balance_sheet.total_current_liabilities,
        balance_sheet.long_term_debt,
        balance_sheet.total_liabilities,
        balance_sheet.stockholders_equity,
        balance_sheet.shares_outstanding,
        income_statement.revenue,
        income_statement.gross_profit,
        income_statement.operating_income,
        income_statement.interest_expense,
        income_statement.pretax_income,
        income_statement.income_tax_expense,
        income_statement.net_income_to_parent,
        income_statement.eps_basic,
        income_statement.weighted_shares_basic,
        cash_flow_statement.cash_flow_basis,
        cash_flow_statement.net_cash_operating,
        cash_flow_statement.free_cash_flow,
        cash_flow_statement.capital_expenditure,
        cash_flow_statement.dividends_paid,
        cash_flow_statement.depreciation_and_amortization
    from keys
    left join balance_sheet
        on keys.source = balance_sheet.source
        and keys.symbol = balance_sheet.symbol
        and keys.fiscal_year = balance_sheet.fiscal_year
        and keys.fiscal_period = balance_sheet.fiscal_period
    left join income_statement
        on keys.source = income_statement.source
        and keys.symbol = income_statement.symbol
        and keys.fiscal_year = income_statement.fiscal_year
        and keys.fiscal_period = income_statement.fiscal_period
    left join cash_flow_statement
        on keys.source = cash_flow_statement.source
        and keys.symbol = cash_flow_statement.symbol
        and keys.fiscal_year = cash_flow_statement.fiscal_year
        and keys.fiscal_period = cash_flow_statement.fiscal_period
),

prepared as (
    select
        *,
        net_income_to_parent as ni,
        case
            when short_term_debt is null and long_term_debt is null then null
            else coalesce(short_term_debt, 0) + coalesce(long_term_debt, 0)
        end as debt,
        -- earnings before interest and taxes
        pretax_income + coalesce(interest_expense, 0) as ebit,
        case
            when fiscal_period = 'FY' then 365.0
            when fiscal_period in ('Q1', 'Q2', 'Q3', 'Q4') then 91.25
        end as days_in_period,
        -- the period's own cash flows only: NULL when they are year-to-date
        coalesce(cash_flow_basis = 'year_to_date', false) as is_year_to_date,
        case when not is_year_to_date then net_cash_operating end as net_cash_operating_p,
        case when not is_year_to_date then free_cash_flow end as free_cash_flow_p,
        case when not is_year_to_date then capital_expenditure end as capital_expenditure_p,
        case when not is_year_to_date then dividends_paid end as dividends_paid_p,
        case when not is_year_to_date then depreciation_and_amortization end
            as depreciation_and_amortization_p
    from statements
),

with_prior as (
    select
        current_row.*,
        case
            when prior_row.has_balance_sheet then 'average' else 'closing'
        end as balance_basis,
        prior_row.revenue as prior_revenue,
        prior_row.ni as prior_ni,
        prior_row.total_assets as prior_total_assets,
        prior_row.stockholders_equity as prior_stockholders_equity,
        prior_row.eps_basic as prior_eps_basic,
        case
            when prior_row.cash_flow_basis is not distinct from current_row.cash_flow_basis
                then prior_row.net_cash_operating
        end as prior_net_cash_operating_same_basis,
        prior_row.total_assets as prior_total_assets_balance,
        prior_row.stockholders_equity as prior_stockholders_equity_balance,
        prior_row.accounts_receivable as prior_accounts_receivable_balance
    from prepared as current_row
    left join prepared as prior_row
        on current_row.source = prior_row.source
        and current_row.symbol = prior_row.symbol
        and current_row.fiscal_year - 1 = prior_row.fiscal_year
        and current_row.fiscal_period = prior_row.fiscal_period
),

inputs as (
    select
        *,
        {% for item in ['total_assets', 'stockholders_equity', 'accounts_receivable'] -%}
        case
            when balance_basis = 'average'
                then (prior_{{ item }}_balance + {{ item }}) / 2
            else {{ item }}
        end as avg_{{ item }}{{ ',' if not loop.last }}
        {% endfor %}
    from with_prior
),

ratios as (
    select
        inputs.source,
        inputs.symbol,
        inputs.fiscal_year,
        inputs.fiscal_period,
        inputs.period_end,
        inputs.currency,
        inputs.filing_id,
        inputs.balance_basis,
        {% for ratio in ratios_definitions() -%}
        cast({{ ratio.expression }} as double) as {{ ratio.name }},
        {% endfor -%}
        list_filter(
            [
                case when inputs.stockholders_equity < 0 then 'negative_equity' end,
                case when inputs.ni < 0 then 'negative_earnings' end,
                case when inputs.pretax_income < 0 then 'negative_pretax_income' end,
                case when inputs.revenue = 0 then 'zero_revenue' end,
                case when inputs.is_year_to_date then 'year_to_date_cash_flow' end,
                case when inputs.fiscal_period <> 'FY' then 'quarterly_flows' end
            ],
            flag -> flag is not null
        ) as flags,
        coalesce(tieout_failures.tieout_failures, []) as tieout_failures
    from inputs
    left join tieout_failures
        on inputs.source = tieout_failures.source
        and inputs.symbol = tieout_failures.symbol
        and inputs.fiscal_year = tieout_failures.fiscal_year
        and inputs.fiscal_period = tieout_failures.fiscal_period
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
        {% for ratio in ratios_definitions() -%}
        {{ ratio.name }},
        {% endfor -%}
        cast(flags as varchar[]) as flags,
        cast(tieout_failures as varchar[]) as tieout_failures
    from ratios
)

select * from final
