{#-
    Statement facts of every source, one shape: filing_id, concept, value_number,
    context ('current' | 'opening'), cash_flow_basis ('period' | 'year_to_date').
-#}
with vendor as (
    select filing_id, concept, value_number, context, cash_flow_basis
    from {{ ref('int_vendor__statement_facts') }}
),

sec as (
    select filing_id, concept, value_number, context, cash_flow_basis
    from {{ ref('int_sec__statement_facts') }}
),

final as (
    select * from vendor
    union all
    select * from sec
)

select * from final
