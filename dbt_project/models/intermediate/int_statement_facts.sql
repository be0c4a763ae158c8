{#-
    Statement facts of every source, one shape: filing_id, concept, value_number,
    context ('current' | 'opening'), cash_flow_basis ('period' | 'year_to_date').
-#}
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='filing') }}
with vendor as (
    select filing_id, concept, value_number, context, cash_flow_basis
    from {{ changed_only(ref('int_vendor__statement_facts'), 'filing') }}
),

sec as (
    select filing_id, concept, value_number, context, cash_flow_basis
    from {{ changed_only(ref('int_sec__statement_facts'), 'filing') }}
),

final as (
    select * from vendor
    union all
    select * from sec
)

select * from final
