{#- Every ratio of marts.financial_ratios, written once: the model selects
    `{{ r.expression }} as {{ r.name }}` for each and financial_ratios_long unpivots the same
    names. Expressions use the columns of financial_ratios' `inputs` CTE:
      ni                 = net_income_to_parent
      debt               = short_term_debt + long_term_debt (NULL when neither; a missing one = 0)
      avg_<x>            = (previous fiscal year's x + x) / 2 when balance_basis = 'average', else x
      prior_<x>          = x of the same fiscal period one fiscal year earlier
      <cash flow>_p      = the cash-flow value when it is the period's own flow, NULL when it
                           is year-to-date (a quarter's YTD flow is never mixed with a
                           quarter's income statement or balances)
      days_in_period     = 365 (FY), 91.25 (quarter: 365 / 4)
    The .yml documents each formula in words; keep both in step. -#}
{% macro ratios_definitions() %}
{{ return([
    {'name': 'gross_profit_margin', 'expression': ratios_safe_divide('gross_profit', 'revenue')},
    {'name': 'operating_profit_margin', 'expression': ratios_safe_divide('operating_income', 'revenue')},
    {'name': 'pretax_profit_margin', 'expression': ratios_safe_divide('pretax_income', 'revenue')},
    {'name': 'net_profit_margin', 'expression': ratios_safe_divide('ni', 'revenue')},
    {'name': 'effective_tax_rate', 'expression': ratios_safe_divide('income_tax_expense', 'pretax_income')},
    {'name': 'ebit_margin', 'expression': ratios_safe_divide('ebit', 'revenue')},
    {'name': 'ebitda_margin', 'expression': ratios_safe_divide('ebit + depreciation_and_amortization_p', 'revenue')},
    {'name': 'current_ratio', 'expression': ratios_safe_divide('total_current_assets', 'total_current_liabilities')},
    {'name': 'quick_ratio', 'expression': ratios_safe_divide('cash_and_equivalents + coalesce(short_term_investments, 0) + coalesce(accounts_receivable, 0)', 'total_current_liabilities')},
    {'name': 'cash_ratio', 'expression': ratios_safe_divide('cash_and_equivalents + coalesce(short_term_investments, 0)', 'total_current_liabilities')},
    {'name': 'working_capital', 'expression': 'cast(total_current_assets - total_current_liabilities as double)'},
    {'name': 'debt_to_equity', 'expression': ratios_safe_divide('debt', 'stockholders_equity')},
    {'name': 'debt_to_assets', 'expression': ratios_safe_divide('debt', 'total_assets')},
    {'name': 'debt_to_capital', 'expression': ratios_safe_divide('debt', 'debt + stockholders_equity')},
    {'name': 'liabilities_to_equity', 'expression': ratios_safe_divide('total_liabilities', 'stockholders_equity')},
    {'name': 'equity_multiplier', 'expression': ratios_safe_divide('total_assets', 'stockholders_equity')},
    {'name': 'return_on_assets', 'expression': ratios_safe_divide('ni', 'avg_total_assets')},
    {'name': 'return_on_equity', 'expression': ratios_safe_divide('ni', 'avg_stockholders_equity')},
    {'name': 'asset_turnover', 'expression': ratios_safe_divide('revenue', 'avg_total_assets')},
    {'name': 'receivables_turnover', 'expression': ratios_safe_divide('revenue', 'avg_accounts_receivable')},
    {'name': 'days_sales_outstanding', 'expression': ratios_safe_divide('days_in_period', ratios_safe_divide('revenue', 'avg_accounts_receivable'))},
    {'name': 'interest_coverage', 'expression': ratios_safe_divide('operating_income', 'interest_expense')},
    {'name': 'operating_cash_flow_ratio', 'expression': ratios_safe_divide('net_cash_operating_p', 'total_current_liabilities')},
    {'name': 'operating_cash_flow_to_sales', 'expression': ratios_safe_divide('net_cash_operating_p', 'revenue')},
    {'name': 'free_cash_flow_margin', 'expression': ratios_safe_divide('free_cash_flow_p', 'revenue')},
    {'name': 'cash_conversion', 'expression': ratios_safe_divide('net_cash_operating_p', 'ni')},
    {'name': 'capex_coverage', 'expression': ratios_safe_divide('net_cash_operating', 'capital_expenditure')},
    {'name': 'capex_to_revenue', 'expression': ratios_safe_divide('capital_expenditure_p', 'revenue')},
    {'name': 'dividend_payout', 'expression': ratios_safe_divide('dividends_paid_p', 'ni')},
    {'name': 'revenue_per_share', 'expression': ratios_safe_divide('revenue', 'weighted_shares_basic')},
    {'name': 'book_value_per_share', 'expression': ratios_safe_divide('stockholders_equity', 'shares_outstanding')},
    {'name': 'tangible_book_value_per_share', 'expression': ratios_safe_divide('stockholders_equity - coalesce(goodwill, 0) - coalesce(intangible_assets, 0)', 'shares_outstanding')},
    {'name': 'operating_cash_flow_per_share', 'expression': ratios_safe_divide('net_cash_operating_p', 'weighted_shares_basic')},
    {'name': 'free_cash_flow_per_share', 'expression': ratios_safe_divide('free_cash_flow_p', 'weighted_shares_basic')},
    {'name': 'cash_per_share', 'expression': ratios_safe_divide('cash_and_equivalents', 'shares_outstanding')},
    {'name': 'revenue_growth', 'expression': ratios_growth('revenue', 'prior_revenue')},
    {'name': 'net_income_growth', 'expression': ratios_growth('ni', 'prior_ni')},
    {'name': 'total_assets_growth', 'expression': ratios_growth('total_assets', 'prior_total_assets')},
    {'name': 'equity_growth', 'expression': ratios_growth('stockholders_equity', 'prior_stockholders_equity')},
    {'name': 'operating_cash_flow_growth', 'expression': ratios_growth('net_cash_operating', 'prior_net_cash_operating_same_basis')},
    {'name': 'eps_growth', 'expression': ratios_growth('eps_basic', 'prior_eps_basic')},
]) }}
{% endmacro %}
