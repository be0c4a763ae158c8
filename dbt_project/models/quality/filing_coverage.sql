{#-
    Does each SEC statement filing (10-K, 10-Q, 20-F, 40-F and /A) supply statement lines,
    and if not, why: so a filer whose taxonomy the concept map does not cover is said out
    loud (a warn test on `coverage`, shown as a Dagster asset check) instead of leaving
    silently empty statement rows.
    coverage:
      'mapped'                  - int_sec__statement_facts selected facts for it;
      'cover_page_only'         - only dei (cover-page) facts, e.g. a 20-F/A adding an
                                  exhibit: supplies nothing, by design;
      'taxonomy_not_mapped'     - it has statement facts, but none of their concepts is
                                  in the concept map (add rows to seeds/concept_map.csv);
      'no_current_period_facts' - mapped concepts, but none at the filing's own period.
-#}
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='filing', on_schema_change='append_new_columns') }}
with filings as (
    select
        filing_id,
        symbol,
        accession,
        document_type,
        fiscal_year,
        fiscal_period,
        period_end
    from {{ changed_only(ref('stg_raw__filings'), 'filing') }}
    where source in ('sec', 'sec_fsds')
      and regexp_replace(upper(document_type), '/A$', '') in ('10-K', '10-Q', '20-F', '40-F')
),

mapped_concepts as (
    select distinct concept from {{ ref('concept_map') }}
),

facts as (
    select
        f.filing_id,
        case when f.concept like '%:%' then split_part(f.concept, ':', 1) else 'us-gaap' end
            as taxonomy,
        f.concept not like 'dei:%' and f.value_number is not null as is_statement_fact,
        m.concept is not null as is_mapped
    from {{ changed_only(ref('stg_raw__facts'), 'filing') }} as f
    inner join filings as fl on f.filing_id = fl.filing_id
    left join mapped_concepts as m on f.concept = m.concept
    where f.period_end is not null  -- SEC facts carry dates; skips vendor rows cheaply
),

per_filing as (
    select
        filing_id,
        string_agg(distinct taxonomy, ', ' order by taxonomy) as taxonomies,
        count(*) filter (where is_statement_fact) as statement_candidate_facts,
        count(*) filter (where is_statement_fact and is_mapped) as mapped_candidate_facts
    from facts
    group by filing_id
),

selected as (
    select filing_id, count(*) as statement_facts
    from {{ changed_only(ref('int_sec__statement_facts'), 'filing') }}
    group by filing_id
),

final as (
    select
        cast(fl.filing_id as varchar) as filing_id,
        cast(fl.symbol as varchar) as symbol,
        cast(fl.accession as varchar) as accession,
        cast(fl.document_type as varchar) as document_type,
        cast(fl.fiscal_year as integer) as fiscal_year,
        cast(fl.fiscal_period as varchar) as fiscal_period,
        cast(fl.period_end as date) as period_end,
        cast(p.taxonomies as varchar) as taxonomies,
        cast(coalesce(p.statement_candidate_facts, 0) as bigint) as statement_candidate_facts,
        cast(coalesce(p.mapped_candidate_facts, 0) as bigint) as mapped_candidate_facts,
        cast(coalesce(s.statement_facts, 0) as bigint) as statement_facts,
        case
            when coalesce(s.statement_facts, 0) > 0 then 'mapped'
            when coalesce(p.statement_candidate_facts, 0) = 0 then 'cover_page_only'
            when coalesce(p.mapped_candidate_facts, 0) = 0 then 'taxonomy_not_mapped'
            else 'no_current_period_facts'
        end as coverage
    from filings as fl
    left join per_filing as p on fl.filing_id = p.filing_id
    left join selected as s on fl.filing_id = s.filing_id
)

select * from final
