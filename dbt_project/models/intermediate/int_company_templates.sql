{#-
    The industry template of every (source, symbol): `bank`, `insurer`, `reit` or
    `commercial`, chosen from the data (seed industry_templates):
    1. the SIC code of an SEC filer (sources `sec`, `sec_fsds`): the filer's own, as its
       latest filing in the SEC data sets gives it (raw.filings.sic, from sub.txt; it
       applies to every SEC source of the CIK), else the sec_companies seed's, by CIK. The
       filer's own code wins: the seed is our guess, sub.txt is what the filer declared;
    2. else, for a filer whose balance sheet is unclassified (no current assets or
       liabilities reported: the defining trait of the bank, insurer and REIT templates),
       the concepts it reports (a bank's noninterest income or loan-loss provision, an
       insurer's premiums earned or benefits and claims, investment property); where
       concepts of two templates are reported, the one with more of its concepts wins
       (ties: bank, insurer, reit). A money lender with a classified balance sheet (the
       seed TROO reports a loan-loss provision and current assets) stays commercial;
    3. else `commercial`.
    template_basis says which, in words. Read by marts.companies and the tie-out
    evaluation (rules that do not apply to a template are skipped with the reason).
-#}
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company') }}
with filings as (
    select distinct filing_id, source, symbol, cik
    from {{ changed_only(ref('stg_raw__filings'), 'company') }}
    where symbol is not null
),

templates as (
    select * from {{ ref('industry_templates') }}
),

companies as (
    select
        source,
        symbol,
        max(try_cast(cik as bigint)) as cik_number
    from filings
    group by source, symbol
),

filer_sic as (
    -- per CIK, the SIC code of its latest filing that gives one (a filer may change it)
    select
        try_cast(cik as bigint) as cik_number,
        sic
    from {{ ref('stg_raw__filings') }}
    where sic is not null and try_cast(cik as bigint) is not null
    qualify row_number() over (
        partition by try_cast(cik as bigint)
        order by filed_date desc nulls last, last_seen_load_id desc, filing_id desc
    ) = 1
),

sic_known as (
    select
        companies.source,
        companies.symbol,
        coalesce(filer_sic.sic, sec_companies.sic) as sic,
        case when filer_sic.sic is not null then 'FSDS sub.txt' else 'sec_companies seed' end
            as sic_source
    from companies
    left join filer_sic
        on companies.cik_number = filer_sic.cik_number
    left join {{ ref('sec_companies') }} as sec_companies
        on companies.cik_number = try_cast(sec_companies.cik as bigint)
    where companies.source in ('sec', 'sec_fsds')
        and coalesce(filer_sic.sic, sec_companies.sic) is not null
),

by_sic as (
    select
        sic_known.source,
        sic_known.symbol,
        templates.industry_template,
        'SIC ' || sic_known.sic || ' (' || sic_known.sic_source || ')' as template_basis
    from sic_known
    inner join templates
        on templates.basis = 'sic'
        and sic_known.sic between templates.sic_from and templates.sic_to
),

concepts_reported as (
    select distinct
        filings.source,
        filings.symbol,
        templates.industry_template,
        templates.concept
    from {{ changed_only(ref('stg_raw__facts'), 'filing') }} as facts
    inner join templates
        on templates.basis in ('concept', 'classified')
        and facts.concept = templates.concept
    inner join filings
        on facts.filing_id = filings.filing_id
),

classified as (
    select distinct source, symbol
    from concepts_reported
    where industry_template = 'commercial'
),

by_concept as (
    select
        source,
        symbol,
        industry_template,
        'concepts reported: ' || string_agg(concept, ', ' order by concept) as template_basis
    from concepts_reported
    where industry_template <> 'commercial'
        and not exists (
            select 1 from classified
            where classified.source = concepts_reported.source
                and classified.symbol = concepts_reported.symbol
        )
    group by source, symbol, industry_template
    qualify row_number() over (
        partition by source, symbol
        order by count(*) desc,
            case industry_template when 'bank' then 1 when 'insurer' then 2 else 3 end
    ) = 1
),

final as (
    select
        companies.source,
        companies.symbol,
        coalesce(by_sic.industry_template,
                 case when sic_known.symbol is null then by_concept.industry_template end,
                 'commercial') as industry_template,
        coalesce(by_sic.template_basis,
                 case when sic_known.symbol is not null
                     then 'SIC ' || sic_known.sic || ' (' || sic_known.sic_source
                         || '): not a bank, insurer or REIT code'
                 end,
                 by_concept.template_basis,
                 case when classified.symbol is not null
                     then 'a classified balance sheet (current assets or liabilities reported)'
                 end,
                 'no bank, insurer or REIT concept reported') as template_basis
    from companies
    left join by_sic
        on companies.source = by_sic.source and companies.symbol = by_sic.symbol
    left join sic_known
        on companies.source = sic_known.source and companies.symbol = sic_known.symbol
    left join by_concept
        on companies.source = by_concept.source and companies.symbol = by_concept.symbol
    left join classified
        on companies.source = classified.source and companies.symbol = classified.symbol
)

select * from final
