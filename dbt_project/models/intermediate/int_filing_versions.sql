{#-
    One row per filing version that can feed a statement, ranked within its mart key
    (source, symbol, fiscal_year, fiscal_period) by the contract's precedence:
    amendment first, then the later filed_date (NULLs last), then the later load that
    presented the version (last_seen_load_id: a file reverted to earlier content makes
    that content win again), then the later record_index (filing_id only makes the
    order total).
    version_rank 1 = highest precedence. Precedence is applied per line item downstream.
-#}
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company') }}
with filings as (
    select * from {{ changed_only(ref('stg_raw__filings'), 'company') }}
),

keyed as (
    select
        filing_id,
        source,
        symbol,
        fiscal_year,
        fiscal_period,
        period_end,
        currency,
        is_amendment,
        filed_date,
        load_id,
        last_seen_load_id,
        record_index
    from filings
    where symbol is not null
        and fiscal_year is not null
        and fiscal_period is not null
),

final as (
    select
        *,
        row_number() over (
            partition by source, symbol, fiscal_year, fiscal_period
            order by
                is_amendment desc,
                filed_date desc nulls last,
                last_seen_load_id desc,
                record_index desc nulls last,
                filing_id desc
        ) as version_rank
    from keyed
)

select * from final
