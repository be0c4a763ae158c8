{#- One row per mart key with at least one income_statement line (macros/statement_mart.sql). -#}
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company', on_schema_change='append_new_columns') }}
{{ statement_mart('income_statement') }}
