{#-
    Vendor (as-reported) statement facts: every numeric fact of a vendor filing whose
    concept is in the concept map. Vendor values are the filing's own current period, so
    every fact is context 'current'. Cash-flow basis: FY and Q1 flows cover the period
    itself; Q2-Q4 as decided from the data by int_vendor__cash_flow_basis (the filer's own
    SEC figure, the vendor's cash rollforward, else the 10-Q convention: year-to-date).
    The join to the concept map filters the 2.5-25 million raw facts down early.
-#}
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='filing') }}
with facts as (
    select filing_id, concept, value_number
    from {{ changed_only(ref('stg_raw__facts'), 'filing') }}
    where value_number is not null
),

filings as (
    select filing_id, fiscal_period
    from {{ changed_only(ref('stg_raw__filings'), 'filing') }}
    where source = 'vendor'
),

quarter_basis as (
    select filing_id, cash_flow_basis from {{ changed_only(ref('int_vendor__cash_flow_basis'), 'filing') }}
),

mapped_concepts as (
    select distinct concept from {{ ref('concept_map') }}
),

final as (
    select
        facts.filing_id,
        facts.concept,
        cast(facts.value_number as decimal(38, 10)) as value_number,
        'current' as context,
        coalesce(quarter_basis.cash_flow_basis, 'period') as cash_flow_basis
    from facts
    inner join mapped_concepts
        on facts.concept = mapped_concepts.concept
    inner join filings
        on facts.filing_id = filings.filing_id
    left join quarter_basis
        on facts.filing_id = quarter_basis.filing_id
)

select * from final
