{#-
    Discrete quarters of every flow line item (line_items: period_kind = 'duration',
    value_kind = 'monetary'; income statement and cash flow): one row per quarter key and
    line item, the quarter's own three-month value, NULL with a reason when it cannot be
    computed.

    Per (source, symbol, fiscal_year, line item), with v_n the value as filed for quarter n
    and c_n the year-to-date (cumulative) value at the end of quarter n:
      c_1 = v_1
      quarter n filed year-to-date (10-Q cash flows): d_n = v_n - c_(n-1), c_n = v_n
      quarter n filed as its own period:               d_n = v_n,           c_n = c_(n-1) + v_n
      Q4 without a Q4 filing:                          d_4 = FY - c_3        (all from one
                                                        fiscal year, Q1 starting with the FY
                                                        and Q3 ending before it)
    So Q2 = 6M - Q1, Q3 = 9M - 6M, Q4 = FY - 9M. Balance-sheet instants, per-share values
    and share counts are never differenced (EPS of a derived Q4 stays NULL).

    quarter_method: 'as_filed' (the filing's own three-month value), 'year_to_date_difference'
    or 'annual_difference'; derivation: the formula; derivation_rule: the rule_id of any
    input derived from a tie-out identity (so that rule is still skipped downstream), else
    NULL. Q4 candidates exist for fiscal years with an FY row, of companies that file
    quarters at all (annual-only filers get no Q4 noise).
-#}
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company') }}
with line_items as (
    select statement, line_item
    from {{ ref('line_items') }}
    where period_kind = 'duration'
        and value_kind = 'monetary'
        and statement in ('income_statement', 'cash_flow_statement')
),

filings as (
    select filing_id, period_start from {{ changed_only(ref('stg_raw__filings'), 'company') }}
),

keys as (
    select keys.*, filings.period_start
    from {{ changed_only(ref('int_statement_keys'), 'company') }} as keys
    left join filings on keys.filing_id = filings.filing_id
),

filed as (
    select
        reported.source, reported.symbol, reported.fiscal_year, reported.fiscal_period,
        reported.statement, reported.line_item, reported.value, reported.value_filing_id,
        cast(null as varchar) as derivation_rule
    from {{ changed_only(ref('int_statement_lines__reported'), 'company') }} as reported
    inner join line_items
        on reported.statement = line_items.statement
        and reported.line_item = line_items.line_item
    union all
    select
        derived.source, derived.symbol, derived.fiscal_year, derived.fiscal_period,
        derived.statement, derived.line_item, derived.value, derived.value_filing_id,
        derived.derivation_rule
    from {{ changed_only(ref('int_statement_lines__derived'), 'company') }} as derived
    inner join line_items
        on derived.statement = line_items.statement
        and derived.line_item = line_items.line_item
),

quarter_filers as (
    select distinct source, symbol from keys where fiscal_period <> 'FY'
),

years as (
    select
        source,
        symbol,
        fiscal_year,
        {%- for p in ['Q1', 'Q2', 'Q3', 'Q4', 'FY'] %}
        bool_or(fiscal_period = '{{ p }}') as has_{{ p | lower }},
        max(period_end) filter (where fiscal_period = '{{ p }}') as end_{{ p | lower }},
        max(period_start) filter (where fiscal_period = '{{ p }}') as start_{{ p | lower }},
        max(filing_id) filter (where fiscal_period = '{{ p }}') as filing_{{ p | lower }},
        max(currency) filter (where fiscal_period = '{{ p }}') as currency_{{ p | lower }},
        max(cash_flow_basis) filter (where fiscal_period = '{{ p }}') as key_basis_{{ p | lower }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from keys
    group by source, symbol, fiscal_year
),

pivoted as (
    select
        source,
        symbol,
        fiscal_year,
        statement,
        line_item,
        {%- for p in ['Q1', 'Q2', 'Q3', 'Q4', 'FY'] %}
        max(value) filter (where fiscal_period = '{{ p }}') as v_{{ p | lower }},
        max(value_filing_id) filter (where fiscal_period = '{{ p }}') as f_{{ p | lower }},
        max(derivation_rule) filter (where fiscal_period = '{{ p }}') as r_{{ p | lower }}
        {{- ',' if not loop.last }}
        {%- endfor %}
    from filed
    group by source, symbol, fiscal_year, statement, line_item
),

based as (
    select
        pivoted.*,
        years.* exclude (source, symbol, fiscal_year),
        quarter_filers.symbol is not null as files_quarters,
        {%- for p in ['q2', 'q3', 'q4'] %}
        -- only cash flows are filed year-to-date
        coalesce(
            case when pivoted.statement = 'cash_flow_statement' then years.key_basis_{{ p }} end,
            'period'
        ) = 'year_to_date' as ytd_{{ p }}{{ ',' if not loop.last }}
        {%- endfor %}
    from pivoted
    inner join years
        on pivoted.source = years.source
        and pivoted.symbol = years.symbol
        and pivoted.fiscal_year = years.fiscal_year
    left join quarter_filers
        on pivoted.source = quarter_filers.source
        and pivoted.symbol = quarter_filers.symbol
),

chained as (
    select
        *,
        v_q1 as d_q1,
        v_q1 as c_q1,
        ['Q1'] as need_c_q1,
        'Q1' as text_c_q1,
        case when ytd_q2 then v_q2 - v_q1 else v_q2 end as d_q2,
        case when ytd_q2 then v_q2 else v_q1 + v_q2 end as c_q2,
        case when ytd_q2 then ['Q2'] else ['Q1', 'Q2'] end as need_c_q2,
        case when ytd_q2 then 'Q2 year-to-date (6 months)' else 'Q1 + Q2' end as text_c_q2
    from based
),

chained_q3 as (
    select
        *,
        case when ytd_q3 then v_q3 - c_q2 else v_q3 end as d_q3,
        case when ytd_q3 then v_q3 else c_q2 + v_q3 end as c_q3,
        case when ytd_q3 then ['Q3'] else list_concat(need_c_q2, ['Q3']) end as need_c_q3,
        case
            when ytd_q3 then 'Q3 year-to-date (9 months)' else text_c_q2 || ' + Q3'
        end as text_c_q3
    from chained
),

chained_q4 as (
    select
        *,
        -- the quarters belong to the fiscal year: Q1 starts with it, Q3 ends before it
        (end_q3 is null or end_fy is null or end_q3 < end_fy)
            and (start_q1 is null or start_fy is null or start_q1 = start_fy)
            as quarters_within_year,
        case
            when has_q4 then case when ytd_q4 then v_q4 - c_q3 else v_q4 end
            else v_fy - c_q3
        end as d_q4,
        case
            when has_q4 then case when ytd_q4 then v_q4 else c_q3 + v_q4 end
            else v_fy
        end as c_q4
    from chained_q3
),

quarters as (
    {%- for n in [1, 2, 3, 4] %}
    {%- set q = 'q' ~ n %}
    select
        source,
        symbol,
        fiscal_year,
        '{{ q | upper }}' as fiscal_period,
        statement,
        line_item,
        {%- if n == 4 %}
        coalesce(end_q4, end_fy) as period_end,
        coalesce(start_q4, end_q3 + interval 1 day) as period_start,
        coalesce(currency_q4, currency_fy) as currency,
        coalesce(filing_q4, filing_fy) as filing_id,
        case when quarters_within_year or has_q4 then d_q4 end as value,
        case when quarters_within_year or has_q4 then c_q4 end as year_to_date_value,
        case
            when has_q4 and not ytd_q4 then 'as_filed'
            when has_q4 then 'year_to_date_difference'
            else 'annual_difference'
        end as quarter_method,
        case when has_q4 then f_q4 else f_fy end as value_filing_id,
        case when has_q4 then r_q4 else r_fy end as minuend_rule,
        case
            when has_q4 and not ytd_q4 then null
            when has_q4 then 'Q4 year-to-date (12 months) - '
            else 'FY - '
        end
            || case when text_c_q3 like '%+%' then '(' || text_c_q3 || ')' else text_c_q3 end
            || ' of fiscal year ' || fiscal_year as derivation,
        case
            when has_q4 and not ytd_q4 then ['Q4']
            when has_q4 then list_concat(['Q4'], need_c_q3)
            else list_concat(['FY'], need_c_q3)
        end as inputs,
        not (quarters_within_year or has_q4) as outside_year,
        {%- else %}
        end_{{ q }} as period_end,
        start_{{ q }} as period_start,
        currency_{{ q }} as currency,
        filing_{{ q }} as filing_id,
        d_{{ q }} as value,
        c_{{ q }} as year_to_date_value,
        {%- if n == 1 %}
        'as_filed' as quarter_method,
        f_q1 as value_filing_id,
        r_q1 as minuend_rule,
        cast(null as varchar) as derivation,
        ['Q1'] as inputs,
        {%- else %}
        case when ytd_{{ q }} then 'year_to_date_difference' else 'as_filed' end
            as quarter_method,
        f_{{ q }} as value_filing_id,
        r_{{ q }} as minuend_rule,
        case
            when ytd_{{ q }} then
                '{{ q | upper }} year-to-date ({{ n * 3 }} months) - '
                || case
                    when text_c_q{{ n - 1 }} like '%+%' then '(' || text_c_q{{ n - 1 }} || ')'
                    else text_c_q{{ n - 1 }}
                end
                || ' of fiscal year ' || fiscal_year
        end as derivation,
        case
            when ytd_{{ q }} then list_concat(['{{ q | upper }}'], need_c_q{{ n - 1 }})
            else ['{{ q | upper }}']
        end as inputs,
        {%- endif %}
        false as outside_year,
        {%- endif %}
        map {
            'Q1': has_q1, 'Q2': has_q2, 'Q3': has_q3, 'Q4': has_q4, 'FY': has_fy
        } as key_present,
        map {
            'Q1': v_q1 is not null, 'Q2': v_q2 is not null, 'Q3': v_q3 is not null,
            'Q4': v_q4 is not null, 'FY': v_fy is not null
        } as value_present,
        coalesce(r_q1, r_q2, r_q3) as quarter_rule
    from chained_q4
    {%- if n == 4 %}
    where has_q4 or (has_fy and files_quarters)
    {%- else %}
    where has_{{ q }}
    {%- endif %}
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

final as (
    select
        cast(source as varchar) as source,
        cast(symbol as varchar) as symbol,
        cast(fiscal_year as integer) as fiscal_year,
        cast(fiscal_period as varchar) as fiscal_period,
        cast(period_start as date) as period_start,
        cast(period_end as date) as period_end,
        cast(currency as varchar) as currency,
        cast(filing_id as varchar) as filing_id,
        cast(statement as varchar) as statement,
        cast(line_item as varchar) as line_item,
        cast(value as decimal(38, 10)) as value,
        cast(year_to_date_value as decimal(38, 10)) as year_to_date_value,
        cast(quarter_method as varchar) as quarter_method,
        cast(case when value is not null then value_filing_id end as varchar)
            as value_filing_id,
        cast(case when value is not null then derivation end as varchar) as derivation,
        cast(
            case
                when value is not null and quarter_method <> 'as_filed'
                    then coalesce(minuend_rule, quarter_rule)
                when value is not null then minuend_rule
            end as varchar
        ) as derivation_rule,
        cast(
            case
                when value is not null then null
                when outside_year then
                    'the quarters of fiscal year ' || fiscal_year
                    || ' do not fall within its FY period'
                else array_to_string(
                    list_transform(
                        list_filter(inputs, p -> not value_present[p]),
                        p -> case
                            when key_present[p] then p || ' ' || line_item || ' not reported'
                            else p || ' of fiscal year ' || fiscal_year || ' not loaded'
                        end
                    ),
                    '; '
                )
            end as varchar
        ) as null_reason
    from quarters
)

select * from final
