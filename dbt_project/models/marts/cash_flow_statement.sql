{#- One row per mart key with at least one cash_flow_statement line (macros/statement_mart.sql),
    plus the cash_flow_basis: always 'period' since quarterly rows are discrete quarters
    (Q2 = 6M - Q1, ...: int_quarterly_flows); the year-to-date figures as filed are
    marts.quarterly_flows.year_to_date_value. -#}
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company', on_schema_change='append_new_columns') }}
{{ statement_mart('cash_flow_statement', constant_columns={'cash_flow_basis': "cast('period' as varchar)"}) }}
