{#-
    The filing versions an incremental build recomputes: every version of a changed
    company (int_changed_companies), plus versions without a symbol loaded or presented
    after the watermark. Models keyed by filing_id (statement facts) filter on it.
-#}
{{ config(materialized='table') }}

with filings as (
    select filing_id, source, symbol, load_id, last_seen_load_id
    from {{ ref('stg_raw__filings') }}
),

changed as (
    select source, symbol, after_load_id from {{ ref('int_changed_companies') }}
),

final as (
    select filings.filing_id
    from filings
    inner join changed
        on filings.source = changed.source
        and filings.symbol = changed.symbol
    union
    select filing_id
    from filings
    where symbol is null
        and greatest(load_id, last_seen_load_id) > {{ last_build_watermark() }}
)

select * from final
