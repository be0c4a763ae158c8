{#- One row per concept seen in raw.facts: how many filings report it and the line item
    it maps to (NULL when unmapped), so users see what the concept map leaves out. A
    concept mapped to several line items (e.g. the pre-2018 cash concept feeds both the
    balance sheet and the cash-flow reconciliation) shows its best mapping (lowest
    priority, then statement and line order) and lists all of them in mapped_to. -#}
with no_symbol_filings as (
    select filing_id from {{ ref('stg_raw__filings') }} where symbol is null
),

-- per company from int_concept_filings (kept incrementally), plus the filing versions
-- without a symbol, counted here (distinct pairs first: DuckDB's count(distinct)
-- aggregate does not parallelise)
concept_filings as (
    select concept, filings from {{ ref('int_concept_filings') }}
    union all
    select concept, count(*) as filings
    from (
        select distinct concept, filing_id
        from {{ ref('stg_raw__facts') }}
        where filing_id in (select filing_id from no_symbol_filings)
    )
    group by concept
),

facts as (
    select concept, cast(sum(filings) as bigint) as filings
    from concept_filings
    group by concept
),

concept_map as (
    select concept, statement, line_item, priority from {{ ref('concept_map') }}
),

line_items as (
    select statement, line_item, ordinal from {{ ref('line_items') }}
),

statement_order as (
    select * from (values
        ('balance_sheet', 1), ('income_statement', 2), ('cash_flow_statement', 3)
    ) as t (statement, statement_ordinal)
),

mappings as (
    select
        concept_map.concept,
        concept_map.statement,
        concept_map.line_item,
        concept_map.priority,
        row_number() over (
            partition by concept_map.concept
            order by concept_map.priority, statement_order.statement_ordinal, line_items.ordinal
        ) as mapping_rank,
        string_agg(
            concept_map.statement || '.' || concept_map.line_item
                || ' (' || concept_map.priority || ')',
            ', '
            order by statement_order.statement_ordinal, line_items.ordinal
        ) over (partition by concept_map.concept) as mapped_to
    from concept_map
    inner join line_items
        on concept_map.statement = line_items.statement
        and concept_map.line_item = line_items.line_item
    inner join statement_order
        on concept_map.statement = statement_order.statement
),

final as (
    select
        facts.concept,
        facts.filings,
        mappings.statement,
        mappings.line_item,
        mappings.priority,
        mappings.mapped_to
    from facts
    left join mappings
        on facts.concept = mappings.concept
        and mappings.mapping_rank = 1
)

select * from final
