{#-
    Trailing twelve months of every monetary flow line item, long: for every quarter key
    (Q1..Q4, derived Q4 included) the sum of the last four discrete quarters
    (marts.quarterly_flows), only when they are four consecutive quarters of the same
    company:
    - consecutive fiscal quarters (quarter_index = fiscal_year x 4 + quarter: no quarter
      missing in between),
    - and, by period dates, no gap and no overlap: each quarter starts the day after the
      previous one ends (where the source gives period starts, as SEC filings do; 52/53-week
      years need nothing special), else (vendor rows without a start) its end falls 80 to
      100 days after the previous quarter's end (13- or 14-week and calendar quarters);
    - and all four quarters have a value for the line item.
    Otherwise value is NULL and null_reason says which condition failed first.
-#}
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company', on_schema_change='append_new_columns') }}
with quarters as (
    select
        *,
        fiscal_year * 4 + cast(substr(fiscal_period, 2) as integer) as quarter_index
    from {{ changed_only(ref('int_quarterly_flows'), 'company') }}
),

calendar as (
    select distinct
        source, symbol, fiscal_year, fiscal_period, quarter_index, period_start, period_end
    from quarters
),

linked as (
    select
        this_quarter.*,
        previous_quarter.period_end as previous_end,
        case
            when previous_quarter.symbol is null then null
            when this_quarter.period_start is not null
                then this_quarter.period_start = previous_quarter.period_end + interval 1 day
            else datediff('day', previous_quarter.period_end, this_quarter.period_end)
                between 80 and 100
        end as follows_previous
    from calendar as this_quarter
    left join calendar as previous_quarter
        on this_quarter.source = previous_quarter.source
        and this_quarter.symbol = previous_quarter.symbol
        and this_quarter.quarter_index - 1 = previous_quarter.quarter_index
),

windows as (
    select
        this_quarter.source,
        this_quarter.symbol,
        this_quarter.quarter_index,
        list(member.quarter_index order by member.quarter_index) as present,
        min(member.period_start) filter (
            where member.quarter_index = this_quarter.quarter_index - 3
        ) as ttm_start,
        list(
            member.fiscal_year || ' ' || member.fiscal_period || ' (' || member.period_start
            || ' - ' || member.period_end || ') does not start the day after the previous'
            || ' quarter ends (' || member.previous_end || ')'
            order by member.quarter_index
        ) filter (
            where member.quarter_index > this_quarter.quarter_index - 3
                and not member.follows_previous
        ) as breaks
    from calendar as this_quarter
    inner join linked as member
        on this_quarter.source = member.source
        and this_quarter.symbol = member.symbol
        and member.quarter_index between this_quarter.quarter_index - 3
            and this_quarter.quarter_index
    group by this_quarter.source, this_quarter.symbol, this_quarter.quarter_index
),

window_status as (
    select
        *,
        list_transform(
            list_filter(range(quarter_index - 3, quarter_index + 1), i -> not list_contains(present, i)),
            i -> ((i - 1) // 4) || ' Q' || ((i - 1) % 4 + 1)
        ) as missing
    from windows
),

line_sums as (
    select
        this_quarter.source,
        this_quarter.symbol,
        this_quarter.fiscal_year,
        this_quarter.fiscal_period,
        this_quarter.quarter_index,
        this_quarter.period_end,
        this_quarter.currency,
        this_quarter.filing_id,
        this_quarter.statement,
        this_quarter.line_item,
        count(*) as member_rows,
        count(member.value) as quarters_with_value,
        sum(member.value) as value_sum,
        list(
            member.fiscal_year || ' ' || member.fiscal_period || ': '
            || coalesce(member.null_reason, 'no value')
            order by member.quarter_index
        ) filter (where member.value is null) as missing_values,
        list(member.fiscal_year || ' ' || member.fiscal_period order by member.quarter_index)
            as quarter_labels
    from quarters as this_quarter
    inner join quarters as member
        on this_quarter.source = member.source
        and this_quarter.symbol = member.symbol
        and this_quarter.line_item = member.line_item
        and member.quarter_index between this_quarter.quarter_index - 3
            and this_quarter.quarter_index
    group by all
),

final as (
    select
        cast(line_sums.source as varchar) as source,
        cast(line_sums.symbol as varchar) as symbol,
        cast(line_sums.fiscal_year as integer) as fiscal_year,
        cast(line_sums.fiscal_period as varchar) as fiscal_period,
        cast(window_status.ttm_start as date) as ttm_start,
        cast(line_sums.period_end as date) as period_end,
        cast(line_sums.currency as varchar) as currency,
        cast(line_sums.filing_id as varchar) as filing_id,
        cast(line_sums.statement as varchar) as statement,
        cast(line_sums.line_item as varchar) as line_item,
        cast(
            case
                when len(window_status.missing) = 0
                    and coalesce(len(window_status.breaks), 0) = 0
                    and line_sums.quarters_with_value = 4
                    then line_sums.value_sum
            end as decimal(38, 10)
        ) as value,
        cast(line_sums.quarter_labels as varchar[]) as quarters,
        cast(
            case
                when len(window_status.missing) > 0
                    then 'quarter(s) not loaded: ' || array_to_string(window_status.missing, ', ')
                when coalesce(len(window_status.breaks), 0) > 0
                    then 'gap or overlap: ' || window_status.breaks[1]
                when line_sums.member_rows < 4
                    then 'no ' || line_sums.line_item || ' in ' || (4 - line_sums.member_rows)
                        || ' of the four quarters'
                when line_sums.quarters_with_value < 4
                    then 'no ' || line_sums.line_item || ' for '
                        || array_to_string(line_sums.missing_values, '; ')
            end as varchar
        ) as null_reason
    from line_sums
    inner join window_status
        on line_sums.source = window_status.source
        and line_sums.symbol = window_status.symbol
        and line_sums.quarter_index = window_status.quarter_index
)

select * from final
