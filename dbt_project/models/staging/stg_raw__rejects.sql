with source as (
    select * from {{ source('raw', 'rejects') }}
),

renamed as (
    select
        load_id,
        source_file,
        record_index,
        concept,
        reason,
        payload
    from source
)

select * from renamed
