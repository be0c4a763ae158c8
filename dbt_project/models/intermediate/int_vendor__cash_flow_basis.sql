{#-
    Whether a vendor quarter's cash flows (Q2..Q4) are year-to-date or the quarter's own,
    decided from the data, one row per vendor quarter filing (Q2..Q4) with evidence:
    1. `sec_year_to_date_figure` / `sec_quarter_figure`: the filer's own figure in SEC company
       facts (same symbol, concept, period end and value) covers more than one quarter
       (6 or 9 months: year-to-date) or one quarter. A vendor Q2 equal to Q1 + a plausible
       quarter is ambiguous on its own; the filer's six-month figure is not.
    2. `cash_rollforward`: the vendor's own net_change_in_cash equals this quarter's
       cash_end_of_period minus the previous fiscal year's (year-to-date) or minus the
       previous quarter's (the quarter's own), and not both.
    3. otherwise `assumed_10q_convention`: as-reported 10-Q cash flows are year-to-date.
    Where both kinds of evidence point both ways the row says `ambiguous` and keeps the
    convention. int_vendor__statement_facts applies cash_flow_basis.
-#}
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='filing') }}
with vendor_filings as (
    select filing_id, symbol, fiscal_year, fiscal_period, period_end
    from {{ changed_only(ref('stg_raw__filings'), 'filing') }}
    where source = 'vendor'
),

cash_concepts as (
    select concept, line_item, priority
    from {{ ref('concept_map') }}
    where statement = 'cash_flow_statement'
),

vendor_values as (
    select
        vendor_filings.*,
        facts.concept,
        cash_concepts.line_item,
        cash_concepts.priority,
        facts.value_number
    from {{ changed_only(ref('stg_raw__facts'), 'filing') }} as facts
    inner join vendor_filings on facts.filing_id = vendor_filings.filing_id
    inner join cash_concepts on facts.concept = cash_concepts.concept
    where facts.value_number is not null
),

quarters as (
    select * from vendor_filings where fiscal_period in ('Q2', 'Q3', 'Q4')
),

sec_facts as (
    select
        facts.concept,
        filings.symbol,
        facts.period_end,
        facts.value_number,
        datediff('day', facts.period_start, facts.period_end) as days
    from {{ changed_only(ref('stg_raw__facts'), 'filing') }} as facts
    inner join {{ changed_only(ref('stg_raw__filings'), 'filing') }} as filings on facts.filing_id = filings.filing_id
    where filings.source = 'sec'
        and facts.period_start is not null
        and facts.value_number is not null
),

sec_evidence as (
    select
        quarter_values.filing_id,
        bool_or(sec_facts.days > 135) as sec_year_to_date,
        bool_or(sec_facts.days between 75 and 105) as sec_quarter
    from vendor_values as quarter_values
    inner join quarters on quarter_values.filing_id = quarters.filing_id
    inner join sec_facts
        on quarter_values.symbol = sec_facts.symbol
        and quarter_values.concept = sec_facts.concept
        and quarter_values.period_end = sec_facts.period_end
        and quarter_values.value_number = sec_facts.value_number
    where quarter_values.value_number <> 0
    group by quarter_values.filing_id
),

{#- per vendor filing: its best-priority net_change_in_cash and cash_end_of_period -#}
cash_lines as (
    select
        filing_id,
        symbol,
        fiscal_year,
        fiscal_period,
        arg_min(value_number, priority) filter (where line_item = 'net_change_in_cash')
            as net_change,
        arg_min(value_number, priority) filter (where line_item = 'cash_end_of_period')
            as cash_end
    from vendor_values
    group by filing_id, symbol, fiscal_year, fiscal_period
),

{#- one row per (symbol, fiscal year, period): the latest-loaded version's values -#}
cash_by_period as (
    select symbol, fiscal_year, fiscal_period, max(cash_end) as cash_end
    from cash_lines
    group by symbol, fiscal_year, fiscal_period
),

rollforward as (
    select
        this_quarter.filing_id,
        abs(this_quarter.net_change - (this_quarter.cash_end - previous_year.cash_end))
            <= 0.0005 * abs(this_quarter.net_change) as rolls_from_year_start,
        abs(this_quarter.net_change - (this_quarter.cash_end - previous_quarter.cash_end))
            <= 0.0005 * abs(this_quarter.net_change) as rolls_from_previous_quarter
    from cash_lines as this_quarter
    inner join quarters on this_quarter.filing_id = quarters.filing_id
    left join cash_by_period as previous_year
        on this_quarter.symbol = previous_year.symbol
        and this_quarter.fiscal_year - 1 = previous_year.fiscal_year
        and previous_year.fiscal_period = 'FY'
    left join cash_by_period as previous_quarter
        on this_quarter.symbol = previous_quarter.symbol
        and this_quarter.fiscal_year = previous_quarter.fiscal_year
        and previous_quarter.fiscal_period
            = 'Q' || (cast(substr(this_quarter.fiscal_period, 2) as integer) - 1)
    where this_quarter.net_change is not null and this_quarter.net_change <> 0
),

decided as (
    select
        quarters.filing_id,
        case
            when sec_evidence.sec_year_to_date and not sec_evidence.sec_quarter
                then 'year_to_date'
            when sec_evidence.sec_quarter and not sec_evidence.sec_year_to_date
                then 'period'
            when rollforward.rolls_from_year_start
                and not coalesce(rollforward.rolls_from_previous_quarter, false)
                then 'year_to_date'
            when rollforward.rolls_from_previous_quarter
                and not coalesce(rollforward.rolls_from_year_start, false)
                then 'period'
            else 'year_to_date'
        end as cash_flow_basis,
        case
            when sec_evidence.sec_year_to_date and not sec_evidence.sec_quarter
                then 'sec_year_to_date_figure'
            when sec_evidence.sec_quarter and not sec_evidence.sec_year_to_date
                then 'sec_quarter_figure'
            when rollforward.rolls_from_year_start
                and not coalesce(rollforward.rolls_from_previous_quarter, false)
                then 'cash_rollforward'
            when rollforward.rolls_from_previous_quarter
                and not coalesce(rollforward.rolls_from_year_start, false)
                then 'cash_rollforward'
            when sec_evidence.filing_id is not null or rollforward.rolls_from_year_start
                then 'ambiguous'
            else 'assumed_10q_convention'
        end as basis_evidence
    from quarters
    left join sec_evidence on quarters.filing_id = sec_evidence.filing_id
    left join rollforward on quarters.filing_id = rollforward.filing_id
),

final as (
    select
        cast(filing_id as varchar) as filing_id,
        cast(cash_flow_basis as varchar) as cash_flow_basis,
        cast(basis_evidence as varchar) as basis_evidence
    from decided
)

select * from final
