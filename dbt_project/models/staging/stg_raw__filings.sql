with source as (
    select * from {{ source('raw', 'filings') }}
),

final as (
    select * from source
)

select * from final
