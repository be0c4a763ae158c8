{#-
    Every (source, symbol, fiscal_year, fiscal_period, line_item) whose value changed after
    it was first reported: the first and the latest value, the two filings (ids and
    accession numbers), their filing dates and the days between. From
    marts.statement_lines_history (own filings, amendments and, for SEC company facts,
    later filings' comparatives for the same concept and period).
-#}
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company', on_schema_change='append_new_columns') }}
with history as (
    select * from {{ changed_only(ref('statement_lines_history'), 'company') }}
),

changed as (
    select source, symbol, fiscal_year, fiscal_period, line_item
    from history
    group by all
    having count(*) > 1
),

first_and_latest as (
    select
        history.source,
        history.symbol,
        history.fiscal_year,
        history.fiscal_period,
        any_value(history.period_end) as period_end,
        any_value(history.statement) as statement,
        history.line_item,
        arg_min(history.value, history.revision) as first_value,
        arg_max(history.value, history.revision) as latest_value,
        arg_min(history.filing_id, history.revision) as first_filing_id,
        arg_max(history.filing_id, history.revision) as latest_filing_id,
        arg_min(history.accession, history.revision) as first_accession,
        arg_max(history.accession, history.revision) as latest_accession,
        arg_min(history.filed_date, history.revision) as first_filed_date,
        arg_max(history.filed_date, history.revision) as latest_filed_date,
        arg_max(history.origin, history.revision) as latest_origin,
        count(*) as revisions
    from history
    inner join changed
        on history.source = changed.source
        and history.symbol = changed.symbol
        and history.fiscal_year = changed.fiscal_year
        and history.fiscal_period = changed.fiscal_period
        and history.line_item = changed.line_item
    group by history.source, history.symbol, history.fiscal_year, history.fiscal_period,
        history.line_item
),

final as (
    select
        cast(source as varchar) as source,
        cast(symbol as varchar) as symbol,
        cast(fiscal_year as integer) as fiscal_year,
        cast(fiscal_period as varchar) as fiscal_period,
        cast(period_end as date) as period_end,
        cast(statement as varchar) as statement,
        cast(line_item as varchar) as line_item,
        cast(first_value as decimal(38, 10)) as first_value,
        cast(latest_value as decimal(38, 10)) as latest_value,
        cast(latest_value - first_value as decimal(38, 10)) as change,
        cast(first_filing_id as varchar) as first_filing_id,
        cast(latest_filing_id as varchar) as latest_filing_id,
        cast(first_accession as varchar) as first_accession,
        cast(latest_accession as varchar) as latest_accession,
        cast(first_filed_date as date) as first_filed_date,
        cast(latest_filed_date as date) as latest_filed_date,
        cast(datediff('day', first_filed_date, latest_filed_date) as bigint) as days_between,
        cast(latest_origin as varchar) as latest_origin,
        cast(revisions as bigint) as revisions
    from first_and_latest
)

select * from final
