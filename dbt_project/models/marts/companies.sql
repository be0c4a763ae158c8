{#- One row per (source, symbol): identity from the latest filing version that names it
    (by period_end, then the contract's version precedence), the span of period ends and
    the number of filing versions loaded. -#}
with filings as (
    select * from {{ ref('stg_raw__filings') }}
    where symbol is not null
),

latest_name as (
    select source, symbol, company_name
    from filings
    where company_name is not null
    qualify row_number() over (
        partition by source, symbol
        order by period_end desc nulls last, is_amendment desc, filed_date desc nulls last,
            load_id desc, record_index desc nulls last, filing_id desc
    ) = 1
),

latest_cik as (
    select source, symbol, cik
    from filings
    where cik is not null
    qualify row_number() over (
        partition by source, symbol
        order by period_end desc nulls last, is_amendment desc, filed_date desc nulls last,
            load_id desc, record_index desc nulls last, filing_id desc
    ) = 1
),

spans as (
    select
        source,
        symbol,
        min(period_end) as first_period_end,
        max(period_end) as last_period_end,
        count(*) as filings
    from filings
    group by source, symbol
),

final as (
    select
        spans.source,
        spans.symbol,
        latest_cik.cik,
        latest_name.company_name,
        spans.first_period_end,
        spans.last_period_end,
        spans.filings
    from spans
    left join latest_name
        on spans.source = latest_name.source and spans.symbol = latest_name.symbol
    left join latest_cik
        on spans.source = latest_cik.source and spans.symbol = latest_cik.symbol
)

select * from final
