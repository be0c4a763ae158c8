{#-
    Reported line items: one row per mart key and line item that some version reports.
    Candidates are the mapped statement facts of every version of the key; a line item
    takes its value from the highest-precedence version that reports it (version_rank),
    and within that version from the concept with the best (lowest) priority. So a
    partial amendment overrides only the lines it reports.
    'opening' facts (the filing's own instant before the period) of the cash-end
    concepts are the reported cash_beginning_of_period.
-#}
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company') }}
with facts as (
    select * from {{ changed_only(ref('int_statement_facts'), 'filing') }}
),

versions as (
    select * from {{ changed_only(ref('int_filing_versions'), 'company') }}
),

concept_map as (
    select concept, statement, line_item, priority, sign
    from {{ ref('concept_map') }}
),

candidates as (
    select
        versions.source,
        versions.symbol,
        versions.fiscal_year,
        versions.fiscal_period,
        versions.version_rank,
        concept_map.statement,
        case
            when facts.context = 'opening' then 'cash_beginning_of_period'
            else concept_map.line_item
        end as line_item,
        cast(facts.value_number * concept_map.sign as decimal(38, 10)) as value,
        facts.filing_id as value_filing_id,
        facts.concept as source_concept,
        concept_map.priority,
        facts.cash_flow_basis
    from facts
    inner join concept_map
        on facts.concept = concept_map.concept
    inner join versions
        on facts.filing_id = versions.filing_id
    where facts.value_number is not null
        and (
            facts.context = 'current'
            or (facts.context = 'opening' and concept_map.line_item = 'cash_end_of_period')
        )
),

ranked as (
    select
        *,
        row_number() over (
            partition by source, symbol, fiscal_year, fiscal_period, line_item
            order by version_rank, priority, source_concept, value
        ) as candidate_rank
    from candidates
),

final as (
    select
        source,
        symbol,
        fiscal_year,
        fiscal_period,
        statement,
        line_item,
        value,
        value_filing_id,
        version_rank as value_version_rank,
        source_concept,
        priority as source_priority,
        cash_flow_basis
    from ranked
    where candidate_rank = 1
)

select * from final
