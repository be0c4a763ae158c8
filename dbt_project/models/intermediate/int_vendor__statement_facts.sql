{#-
    Vendor (as-reported) statement facts: every numeric fact of a vendor filing whose
    concept is in the concept map. Vendor values are the filing's own current period, so
    every fact is context 'current'. Cash-flow basis: FY and Q1 flows cover the period
    itself; Q2-Q4 as-reported (10-Q) cash flows are year-to-date.
    The join to the concept map filters the 2.5-25 million raw facts down early.
-#}
with facts as (
    select filing_id, concept, value_number
    from {{ ref('stg_raw__facts') }}
    where value_number is not null
),

filings as (
    select filing_id, fiscal_period
    from {{ ref('stg_raw__filings') }}
    where source = 'vendor'
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
        case
            when filings.fiscal_period in ('Q2', 'Q3', 'Q4') then 'year_to_date'
            else 'period'
        end as cash_flow_basis
    from facts
    inner join mapped_concepts
        on facts.concept = mapped_concepts.concept
    inner join filings
        on facts.filing_id = filings.filing_id
)

select * from final
