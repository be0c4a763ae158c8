{#- One row per (source, symbol): identity from the latest filing version that names it
    (by period_end, then the contract's version precedence), the span of period ends and
    the number of filing versions loaded. The versions are ranked once; the latest name
    and the latest CIK are each the best-ranked version that reports one. -#}
with filings as (
    select * from {{ ref('stg_raw__filings') }}
    where symbol is not null
),

ranked as (
    select
        *,
        row_number() over (
            partition by source, symbol
            order by period_end desc nulls last, is_amendment desc, filed_date desc nulls last,
                last_seen_load_id desc, record_index desc nulls last, filing_id desc
        ) as recency
    from filings
),

identities as (
    select
        source,
        symbol,
        arg_min(cik, recency) filter (where cik is not null) as cik,
        arg_min(company_name, recency) filter (where company_name is not null) as company_name,
        min(period_end) as first_period_end,
        max(period_end) as last_period_end,
        count(*) as filings
    from ranked
    group by source, symbol
),

-- the industry template chosen from the data (int_company_templates)
final as (
    select
        identities.*,
        templates.industry_template,
        templates.template_basis
    from identities
    left join {{ ref('int_company_templates') }} as templates
        on identities.source = templates.source
        and identities.symbol = templates.symbol
)

select * from final
