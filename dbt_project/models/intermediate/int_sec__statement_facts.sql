{#-
    The statement facts of each SEC filing: which of an accession's facts are its own
    current period (and its opening cash), out of the comparatives and notes it also carries.

    - sources `sec` (company facts) and `sec_fsds` (Financial Statement Data Sets, whose
      facts carry the same period_start/period_end contexts, derived from ddate and qtrs);
    - forms 10-K, 10-Q, 20-F, 40-F and their /A amendments only; numeric facts of concepts
      in the concept map only (like the vendor side), dei (cover page) facts never;
      consolidated facts only (no FSDS segments, no co-registrant);
    - 'current': instants at the filing's period_end, and durations ending there of about a
      year (FY) or about three months (quarters);
    - quarters' cash flows: 10-Qs report cash flows year-to-date. When a Q2/Q3 filing reports
      its cash-flow concepts year-to-date, every cash-flow-only concept takes the YTD duration
      (fiscal year start -> period_end) and the filing's cash_flow_basis is 'year_to_date', so
      one statement never mixes bases; otherwise (Q1, FY, filers with quarterly cash flows)
      the basis is 'period';
    - 'opening': instants of cash-flow-statement concepts at the day before the cash-flow
      period starts (period_start, or the fiscal year start for year-to-date quarters): the
      filing's own beginning cash balance.
    One row per (filing_id, concept, context): among several units the filing's currency
    wins, among several starts the one closest to the expected start.
-#}
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='filing') }}
{%- set quarter_days = (75, 105) -%}
{%- set annual_days = (340, 390) -%}
{%- set ytd_tolerance_days = 15 -%}

with filings as (
    select
        filing_id,
        currency,
        period_start,
        period_end,
        fiscal_period,
        case when fiscal_period = 'FY' then 0
             else try_cast(substr(fiscal_period, 2) as integer) end as quarter
    from {{ changed_only(ref('stg_raw__filings'), 'filing') }}
    where source in ('sec', 'sec_fsds')  -- company facts and the quarterly data sets
      and regexp_replace(upper(document_type), '/A$', '') in ('10-K', '10-Q', '20-F', '40-F')
      and period_end is not null
      and (fiscal_period = 'FY' or fiscal_period in ('Q1', 'Q2', 'Q3', 'Q4'))
),

concept_statements as (
    select
        concept,
        bool_or(statement = 'cash_flow_statement') as on_cash_flow,
        bool_and(statement = 'cash_flow_statement') as cash_flow_only
    from {{ ref('concept_map') }}
    group by concept
),

facts as (
    select
        f.filing_id,
        f.concept,
        f.value_number,
        f.unit,
        f.period_start as fact_start,
        f.period_end as fact_end,
        datediff('day', f.period_start, f.period_end) as days,
        cs.on_cash_flow,
        cs.cash_flow_only
    from {{ changed_only(ref('stg_raw__facts'), 'filing') }} as f
    inner join filings as fl on f.filing_id = fl.filing_id
    inner join concept_statements as cs on f.concept = cs.concept
    where f.period_end is not null  -- SEC facts carry dates; skips vendor rows cheaply
      and f.value_number is not null
      and f.concept not like 'dei:%'
      -- consolidated facts only: a segment member's or a co-registrant's figure (FSDS)
      -- is never the filer's total (Berkshire reports total assets only by segment)
      and f.segments is null
      and f.coreg is null
),

{#- the fiscal-year start of a quarter: the start of the durations ending at period_end
    that are about n quarters long (n = the quarter number) -#}
ytd_starts as (
    select
        fl.filing_id,
        mode(fa.fact_start order by fa.fact_start) as ytd_start,
        bool_or(fa.cash_flow_only) as cash_flow_reported_ytd
    from filings as fl
    inner join facts as fa
        on fa.filing_id = fl.filing_id
       and fa.fact_end = fl.period_end
       and fa.fact_start is not null
    where fl.quarter >= 2
      and abs(fa.days - fl.quarter * 365.25 / 4) <= {{ ytd_tolerance_days }}
    group by fl.filing_id
),

periods as (
    select
        fl.*,
        case when y.cash_flow_reported_ytd then 'year_to_date' else 'period' end
            as cash_flow_basis,
        case when y.cash_flow_reported_ytd then y.ytd_start else fl.period_start end
            as cash_flow_start
    from filings as fl
    left join ytd_starts as y on fl.filing_id = y.filing_id
),

candidates as (
    select
        fa.filing_id,
        fa.concept,
        fa.value_number,
        'current' as context,
        p.cash_flow_basis,
        fa.unit,
        p.currency,
        fa.fact_start,
        p.period_start as expected_start
    from facts as fa
    inner join periods as p on fa.filing_id = p.filing_id
    where fa.fact_end = p.period_end
      and (
          fa.fact_start is null
          or (p.quarter = 0 and fa.days between {{ annual_days[0] }} and {{ annual_days[1] }})
          or (p.quarter > 0
              and not (fa.cash_flow_only and p.cash_flow_basis = 'year_to_date')
              and fa.days between {{ quarter_days[0] }} and {{ quarter_days[1] }})
      )

    union all

    select
        fa.filing_id,
        fa.concept,
        fa.value_number,
        'current' as context,
        p.cash_flow_basis,
        fa.unit,
        p.currency,
        fa.fact_start,
        p.cash_flow_start as expected_start
    from facts as fa
    inner join periods as p on fa.filing_id = p.filing_id
    where p.cash_flow_basis = 'year_to_date'
      and fa.cash_flow_only
      and fa.fact_end = p.period_end
      and abs(fa.days - p.quarter * 365.25 / 4) <= {{ ytd_tolerance_days }}

    union all

    select
        fa.filing_id,
        fa.concept,
        fa.value_number,
        'opening' as context,
        p.cash_flow_basis,
        fa.unit,
        p.currency,
        fa.fact_start,
        null as expected_start
    from facts as fa
    inner join periods as p on fa.filing_id = p.filing_id
    where fa.on_cash_flow
      and fa.fact_start is null
      and fa.fact_end = p.cash_flow_start - interval 1 day
),

ranked as (
    select
        *,
        row_number() over (
            partition by filing_id, concept, context
            order by
                case
                    when unit = currency then 0
                    when unit like currency || '/%' then 1
                    else 2
                end,
                abs(coalesce(datediff('day', expected_start, fact_start), 0)),
                unit,
                fact_start
        ) as preference
    from candidates
),

final as (
    select
        cast(filing_id as varchar) as filing_id,
        cast(concept as varchar) as concept,
        cast(value_number as decimal(38, 10)) as value_number,
        cast(context as varchar) as context,
        cast(cash_flow_basis as varchar) as cash_flow_basis
    from ranked
    where preference = 1
)

select * from final
