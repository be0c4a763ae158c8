{#- One row per mart key with at least one balance_sheet line (macros/statement_mart.sql). -#}
{{ statement_mart('balance_sheet') }}
