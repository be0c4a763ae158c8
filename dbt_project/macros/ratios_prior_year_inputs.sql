{#-
    The ratio inputs of the dimension ratio marts (financial_ratios_ar, financial_ratios_ttm):
    each row of `prepared` with the same source, symbol and fiscal period one fiscal year
    earlier, giving the growth priors and the average balances (`balance_basis` 'average'
    when that year's balance sheet is loaded, else 'closing'). With
    `compare_cash_flow_basis`, the prior operating cash flow counts only when it has the
    row's cash-flow basis (a year-to-date flow is never compared with a quarter's).
-#}
{% macro ratios_prior_year_inputs(prepared, compare_cash_flow_basis=false) -%}
    select
        current_row.*,
        case when prior_row.has_balance_sheet then 'average' else 'closing' end
            as balance_basis,
        prior_row.revenue as prior_revenue,
        prior_row.ni as prior_ni,
        prior_row.total_assets as prior_total_assets,
        prior_row.stockholders_equity as prior_stockholders_equity,
        prior_row.eps_basic as prior_eps_basic,
        {% if compare_cash_flow_basis -%}
        case
            when prior_row.cash_flow_basis is not distinct from current_row.cash_flow_basis
                then prior_row.net_cash_operating
        end as prior_net_cash_operating_same_basis,
        {%- else -%}
        prior_row.net_cash_operating as prior_net_cash_operating_same_basis,
        {%- endif %}
        {% for item in ['total_assets', 'stockholders_equity', 'accounts_receivable'] -%}
        case
            when prior_row.has_balance_sheet
                then (prior_row.{{ item }} + current_row.{{ item }}) / 2
            else current_row.{{ item }}
        end as avg_{{ item }}{{ ',' if not loop.last }}
        {% endfor %}
    from {{ prepared }} as current_row
    left join {{ prepared }} as prior_row
        on current_row.source = prior_row.source
        and current_row.symbol = prior_row.symbol
        and current_row.fiscal_year - 1 = prior_row.fiscal_year
        and current_row.fiscal_period = prior_row.fiscal_period
{%- endmacro %}
