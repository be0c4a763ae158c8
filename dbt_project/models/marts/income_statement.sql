{#- One row per mart key with at least one income_statement line (macros/statement_mart.sql). -#}
{{ statement_mart('income_statement') }}
