{#- One row per filing version, typed and renamed; nothing filtered (staging is one-to-one). -#}
with source as (
    select * from {{ source('raw', 'filings') }}
),

renamed as (
    select
        filing_id,
        source,
        source_file,
        record_index,
        symbol,
        cik,
        company_name,
        cast(period_end as date) as period_end,
        cast(fiscal_year as integer) as fiscal_year,
        upper(fiscal_period) as fiscal_period,
        document_type,
        coalesce(is_amendment, false) as is_amendment,
        currency,
        cast(filed_date as date) as filed_date,
        accession,
        cast(period_start as date) as period_start,
        fact_count,
        load_id,
        -- warehouses migrated from before the column: NULL until seen again
        coalesce(last_seen_load_id, load_id) as last_seen_load_id,
        -- the filer's SIC code (FSDS sub.sic); NULL where the source gives none
        try_cast(sic as integer) as sic
    from source
)

select * from renamed
