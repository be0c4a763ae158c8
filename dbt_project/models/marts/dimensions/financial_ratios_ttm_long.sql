-- financial_ratios_ttm long: one row per quarter key and ratio (the names of
-- macros/ratios_definitions.sql), NULL values included.
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company', on_schema_change='append_new_columns') }}

with

final as (
    {{ ratios_long(changed_only(ref('financial_ratios_ttm'), 'company')) }}
)

select * from final
