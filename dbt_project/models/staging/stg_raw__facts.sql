{#- One row per fact; a view, so the 2.5-25 million rows are never copied here. -#}
with source as (
    select * from {{ source('raw', 'facts') }}
),

renamed as (
    select
        filing_id,
        concept,
        value_number,
        value_text,
        unit,
        period_start,
        period_end,
        qtrs,
        coreg,
        segments,
        taxonomy_version
    from source
)

select * from renamed
