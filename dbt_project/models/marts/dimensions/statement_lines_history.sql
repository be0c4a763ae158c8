{#-
    Point-in-time history of every reported line item: one row per (mart key, line item)
    and distinct value in the order filings stated it (int_statement_line_observations:
    the key's own filings and amendments, and for SEC company facts the comparatives of
    later filings). A filing that repeats the current value adds no row.
    known_from = filed_date + 1 day (a filing is public on its filing day: a backtest
    trading on day D may use only what was filed before D); known_until = the day before
    the next revision is known (NULL while current). Vendor filings carry no filed_date:
    their rows have NULL known_from and never match a point-in-time query.
    revision 1 is the value as first reported (AR); the row with known_until NULL is the
    latest known value. Query it as of a date with the macro point_in_time(as_of_date).
-#}
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company', on_schema_change='append_new_columns') }}
with observations as (
    select * from {{ changed_only(ref('int_statement_line_observations'), 'company') }}
),

ordered as (
    select
        *,
        lag(value) over chronology as previous_value
    from observations
    window chronology as (
        partition by source, symbol, fiscal_year, fiscal_period, line_item
        order by filed_date nulls first, is_amendment, load_id, record_index, filing_id
    )
),

revisions as (
    select
        *,
        row_number() over chronology as revision,
        lead(filed_date) over chronology as next_filed_date,
        count(*) over (
            partition by source, symbol, fiscal_year, fiscal_period, line_item
        ) as revisions
    from ordered
    where previous_value is null or value <> previous_value
    window chronology as (
        partition by source, symbol, fiscal_year, fiscal_period, line_item
        order by filed_date nulls first, is_amendment, load_id, record_index, filing_id
    )
),

keys as (
    select source, symbol, fiscal_year, fiscal_period, period_end
    from {{ changed_only(ref('int_statement_keys'), 'company') }}
),

final as (
    select
        cast(revisions.source as varchar) as source,
        cast(revisions.symbol as varchar) as symbol,
        cast(revisions.fiscal_year as integer) as fiscal_year,
        cast(revisions.fiscal_period as varchar) as fiscal_period,
        cast(keys.period_end as date) as period_end,
        cast(revisions.statement as varchar) as statement,
        cast(revisions.line_item as varchar) as line_item,
        cast(revisions.value as decimal(38, 10)) as value,
        cast(revisions.revision as bigint) as revision,
        cast(revisions.filing_id as varchar) as filing_id,
        cast(revisions.accession as varchar) as accession,
        cast(revisions.document_type as varchar) as document_type,
        cast(revisions.filed_date as date) as filed_date,
        cast(revisions.filed_date + interval 1 day as date) as known_from,
        cast(revisions.next_filed_date as date) as known_until,
        revisions.revision = revisions.revisions as is_latest,
        cast(revisions.origin as varchar) as origin,
        cast(revisions.source_concept as varchar) as source_concept,
        cast(revisions.cash_flow_basis as varchar) as cash_flow_basis
    from revisions
    inner join keys
        on revisions.source = keys.source
        and revisions.symbol = keys.symbol
        and revisions.fiscal_year = keys.fiscal_year
        and revisions.fiscal_period = keys.fiscal_period
)

select * from final
