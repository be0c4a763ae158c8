-- financial_ratios long: one row per mart key and ratio (the names of
-- macros/ratios_definitions.sql), NULL values included, for charting and screening.
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company', on_schema_change='append_new_columns') }}

with

final as (
    {{ ratios_long(changed_only(ref('financial_ratios'), 'company')) }}
)

select * from final
