-- financial_ratios long: one row per mart key and ratio (the names of
-- macros/ratios_definitions.sql), NULL values included, for charting and screening.

with

final as (
    {{ ratios_long(ref('financial_ratios')) }}
)

select * from final
