{#-
    Every time a filing stated a reported line item of a mart key: one row per (mart key,
    line item, filing). Two kinds:
    - `own`: each version of the key's own filings (the original and its amendments) that
      reports the line (its best-priority mapped concept, as int_statement_lines__reported
      chooses within a version);
    - `comparative` (SEC company facts): a later (or other) statement filing of the same
      company that reports the same concept, unit and period (start and end) as one of the
      key's own facts: the prior-period column of a 10-K / 10-Q. A different value is a
      restatement candidate.
    Values are as filed: cash flows of a quarter filed year-to-date are year-to-date here
    (cash_flow_basis says so). Derived values (identities, discrete quarters) are not
    observations. marts.statement_lines_history orders and de-duplicates these.
-#}
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company') }}
with facts as (
    select * from {{ changed_only(ref('int_statement_facts'), 'filing') }}
),

versions as (
    select * from {{ changed_only(ref('int_filing_versions'), 'company') }}
),

filings as (
    select filing_id, accession, document_type from {{ changed_only(ref('stg_raw__filings'), 'company') }}
),

concept_map as (
    select concept, statement, line_item, priority, sign from {{ ref('concept_map') }}
),

own_candidates as (
    select
        versions.source,
        versions.symbol,
        versions.fiscal_year,
        versions.fiscal_period,
        concept_map.statement,
        case
            when facts.context = 'opening' then 'cash_beginning_of_period'
            else concept_map.line_item
        end as line_item,
        facts.value_number as filed_value,
        cast(facts.value_number * concept_map.sign as decimal(38, 10)) as value,
        concept_map.sign,
        facts.filing_id,
        facts.concept,
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

own as (
    select *
    from own_candidates
    qualify row_number() over (
        partition by filing_id, line_item
        order by priority, concept, value
    ) = 1
),

raw_facts as (
    select filing_id, concept, unit, period_start, period_end, value_number
    from {{ changed_only(ref('stg_raw__facts'), 'filing') }}
    where period_end is not null
        and value_number is not null
),

{#- the context (unit, start, end) of each own SEC fact -#}
own_contexts as (
    select
        own.*,
        raw_facts.unit,
        raw_facts.period_start as fact_start,
        raw_facts.period_end as fact_end
    from own
    inner join raw_facts
        on own.filing_id = raw_facts.filing_id
        and own.concept = raw_facts.concept
        and own.filed_value = raw_facts.value_number
    where own.source = 'sec'
    qualify row_number() over (
        partition by own.filing_id, own.line_item
        order by raw_facts.period_end desc, raw_facts.period_start desc nulls last, raw_facts.unit
    ) = 1
),

statement_filings as (
    select versions.filing_id, versions.source, versions.symbol, versions.fiscal_year,
        versions.fiscal_period
    from versions
    inner join filings on versions.filing_id = filings.filing_id
    where versions.source = 'sec'
        and regexp_replace(upper(filings.document_type), '/A$', '') in ('10-K', '10-Q', '20-F', '40-F')
),

comparatives as (
    select
        own_contexts.source,
        own_contexts.symbol,
        own_contexts.fiscal_year,
        own_contexts.fiscal_period,
        own_contexts.statement,
        own_contexts.line_item,
        cast(raw_facts.value_number * own_contexts.sign as decimal(38, 10)) as value,
        raw_facts.filing_id,
        own_contexts.concept,
        own_contexts.cash_flow_basis
    from own_contexts
    inner join statement_filings as other
        on own_contexts.source = other.source
        and own_contexts.symbol = other.symbol
        and not (
            own_contexts.fiscal_year = other.fiscal_year
            and own_contexts.fiscal_period = other.fiscal_period
        )
    inner join raw_facts
        on raw_facts.filing_id = other.filing_id
        and raw_facts.concept = own_contexts.concept
        and raw_facts.unit = own_contexts.unit
        and raw_facts.period_end = own_contexts.fact_end
        and raw_facts.period_start is not distinct from own_contexts.fact_start
),

observations as (
    select
        source, symbol, fiscal_year, fiscal_period, statement, line_item, value, filing_id,
        concept, cash_flow_basis, 'own' as origin
    from own
    union all
    select
        source, symbol, fiscal_year, fiscal_period, statement, line_item, value, filing_id,
        concept, cash_flow_basis, 'comparative' as origin
    from comparatives
),

final as (
    select
        observations.source,
        observations.symbol,
        observations.fiscal_year,
        observations.fiscal_period,
        observations.statement,
        observations.line_item,
        observations.value,
        observations.filing_id,
        filings.accession,
        filings.document_type,
        versions.filed_date,
        versions.is_amendment,
        versions.load_id,
        versions.record_index,
        observations.concept as source_concept,
        observations.cash_flow_basis,
        observations.origin
    from observations
    inner join versions on observations.filing_id = versions.filing_id
    inner join filings on observations.filing_id = filings.filing_id
    -- one observation per filing: its own statement before a comparative
    qualify row_number() over (
        partition by observations.source, observations.symbol, observations.fiscal_year,
            observations.fiscal_period, observations.line_item, observations.filing_id
        order by observations.origin desc, observations.concept
    ) = 1
)

select * from final
