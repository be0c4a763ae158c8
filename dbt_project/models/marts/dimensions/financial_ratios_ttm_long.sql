-- financial_ratios_ttm long: one row per quarter key and ratio (the names of
-- macros/ratios_definitions.sql), NULL values included.

with

final as (
    {{ ratios_long(ref('financial_ratios_ttm')) }}
)

select * from final
