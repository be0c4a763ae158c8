with source as (
    select * from {{ source('raw', 'load_log') }}
),

renamed as (
    select
        load_id,
        source_file,
        sha256,
        status,
        filings,
        facts,
        rejects,
        started_at,
        finished_at
    from source
)

select * from renamed
