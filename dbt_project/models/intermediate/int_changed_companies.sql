{#-
    The companies an incremental build recomputes: every (source, symbol) of a symbol
    with a filing version first loaded, or presented again (a file reverted to earlier
    content), or a file loaded or rejected, after the watermark (the last load that the
    last successful build of the whole project saw: meta.builds). Keyed by symbol across
    sources, because a vendor quarter's cash-flow basis reads the same symbol's SEC facts.
    Always rebuilt (a small table); incremental models filter on it (macro changed_only).
-#}
{{ config(materialized='table') }}

{%- set watermark = last_build_watermark() %}

with filings as (
    select source, symbol, source_file, load_id, last_seen_load_id
    from {{ ref('stg_raw__filings') }}
    where symbol is not null
),

loads as (
    select source_file
    from {{ ref('stg_raw__load_log') }}
    where load_id > {{ watermark }}
        and status in ('loaded', 'rejected')
),

changed_symbols as (
    select symbol from filings
    where load_id > {{ watermark }} or last_seen_load_id > {{ watermark }}
    union
    select filings.symbol from filings
    inner join loads on filings.source_file = loads.source_file
),

final as (
    select distinct
        filings.source,
        filings.symbol,
        cast({{ watermark }} as bigint) as after_load_id
    from filings
    where filings.symbol in (select symbol from changed_symbols)
)

select * from final
