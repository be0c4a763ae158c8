{#-
    Per company and concept, the number of filing versions that report it: the additive
    part of marts.concept_coverage, kept incrementally (the count over every fact of the
    warehouse is the costly part; summing these rows is not). Filing versions without a
    symbol are counted by concept_coverage itself.
-#}
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company') }}

with filings as (
    select filing_id, source, symbol
    from {{ changed_only(ref('stg_raw__filings'), 'company') }}
    where symbol is not null
),

concept_filings as (
    -- distinct pairs first: DuckDB's count(distinct) aggregate does not parallelise
    select distinct facts.concept, facts.filing_id
    from {{ changed_only(ref('stg_raw__facts'), 'filing') }} as facts
    where facts.filing_id in (select filing_id from filings)
),

final as (
    select
        filings.source,
        filings.symbol,
        concept_filings.concept,
        count(*) as filings
    from concept_filings
    inner join filings on concept_filings.filing_id = filings.filing_id
    group by filings.source, filings.symbol, concept_filings.concept
)

select * from final
