{#- One row per mart key with at least one cash_flow_statement line (macros/statement_mart.sql),
    plus the cash_flow_basis ('period' | 'year_to_date': 10-Q cash flows are year-to-date). -#}
{{ statement_mart('cash_flow_statement', key_columns=['cash_flow_basis']) }}
