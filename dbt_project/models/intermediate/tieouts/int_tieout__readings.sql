-- The evidence for every reading (rule variant listed in the tieout_readings seed) of every
-- mart row: where a rule has two readings of the filer's structure (equity-method income
-- after tax or within pretax income; a net change in cash with or without the FX effect;
-- costs and expenses as total costs or as operating expenses; gross profit as revenue less
-- cost of sales or after a line the source does not carry), the reading is chosen from the
-- filer's OTHER reported subtotals, never from whether the rule itself passes.
--
-- Evidence, strongest first (evidence_rank):
--   1 this filing's own reported subtotals satisfy the reading's confirming identity
--     (a `confirm_*` identity of tieout_rule_terms; every term reported, none derived;
--     within the rounding tolerance (terms present) x unit / 2);
--   2 no confirming subtotal in this filing, but in the filer's nearest other filing
--     (same source and symbol, closest period end): the filer's structure;
--   3 the reported concept defines the reading (seed tieout_reading_concepts);
--   4 the default reading (alternative_to empty);
--   9 a reading open only to some concepts (concept_required) where the concept is not one.
-- int_tieout__variants orders the variants of a rule by it; a filing where no reading is
-- consistent is evaluated under the best-evidenced one and fails.
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='mart_key') }}

with

readings as (
    select * from {{ ref('tieout_readings') }}
),

reading_concepts as (
    select * from {{ ref('tieout_reading_concepts') }}
),

keys as (
    select mart_key_id, source, symbol, fiscal_year, fiscal_period, period_end
    from {{ changed_only(ref('int_tieout__mart_keys'), 'company') }}
),

units as (
    select mart_key_id, rounding_unit from {{ changed_only(ref('int_tieout__rounding_units'), 'company') }}
),

check_slots as (
    select rule_id as check_id, count(distinct term) filter (where required) as required_slots
    from {{ ref('tieout_rule_terms') }}
    where rule_id in (select confirmed_by from readings)
    group by rule_id
),


checks as (
    select
        mart_key_id,
        rule_id as check_id,
        count(*) as terms_present,
        count(*) filter (where required) as required_present,
        bool_or(method = 'derived') as any_derived,
        sum(coefficient * value) filter (where side = 'lhs') as lhs_sum,
        sum(coefficient * value) filter (where side = 'rhs') as rhs_sum
    from {{ changed_only(ref('int_tieout__term_values'), 'mart_key') }}
    where rule_id in (select confirmed_by from readings)
    group by mart_key_id, rule_id
),

-- confirming identities that could be evaluated here (every required term reported)
evaluable as (
    select checks.mart_key_id, readings.rule_id
    from checks
    inner join check_slots
        on checks.check_id = check_slots.check_id
    inner join readings
        on checks.check_id = readings.confirmed_by
    where checks.required_present = check_slots.required_slots
        and not checks.any_derived
),

confirmed as (
    select
        checks.mart_key_id,
        readings.rule_id,
        readings.variant,
        readings.description as check_formula
    from checks
    inner join check_slots
        on checks.check_id = check_slots.check_id
    inner join units
        on checks.mart_key_id = units.mart_key_id
    inner join readings
        on checks.check_id = readings.confirmed_by
    where checks.required_present = check_slots.required_slots
        and not checks.any_derived
        and abs(checks.lhs_sum - checks.rhs_sum) <= checks.terms_present * units.rounding_unit / 2
),

confirmed_here as (
    select
        confirmed.*,
        keys.source,
        keys.symbol,
        keys.fiscal_year,
        keys.fiscal_period,
        keys.period_end
    from confirmed
    inner join keys
        on confirmed.mart_key_id = keys.mart_key_id
),

-- rows of rules with readings that have no confirmation of any reading in their own filing
unconfirmed as (
    select keys.*, rules.rule_id
    from keys
    cross join (select distinct rule_id from readings) as rules
    where not exists (
        select 1 from confirmed
        where confirmed.mart_key_id = keys.mart_key_id
            and confirmed.rule_id = rules.rule_id
    )
),

-- the filer's nearest other filing that confirms a reading of the rule: the latest one
-- at or before this period end and the earliest one after it (two ASOF joins, so the
-- cost stays linear in the filer's filings), the nearer of the two
confirmed_filings as (
    select
        source,
        symbol,
        rule_id,
        period_end,
        min(fiscal_year) as fiscal_year,
        arg_min(fiscal_period, variant) as fiscal_period,
        min(variant) as variant,
        arg_min(check_formula, variant) as check_formula
    from confirmed_here
    group by source, symbol, rule_id, period_end
),

nearest_before as (
    select
        unconfirmed.mart_key_id,
        unconfirmed.rule_id,
        unconfirmed.period_end,
        other.variant,
        other.check_formula,
        other.fiscal_year as other_fiscal_year,
        other.fiscal_period as other_fiscal_period,
        other.period_end as other_period_end
    from unconfirmed
    asof inner join confirmed_filings as other
        on unconfirmed.source = other.source
        and unconfirmed.symbol = other.symbol
        and unconfirmed.rule_id = other.rule_id
        and unconfirmed.period_end >= other.period_end
),

nearest_after as (
    select
        unconfirmed.mart_key_id,
        unconfirmed.rule_id,
        unconfirmed.period_end,
        other.variant,
        other.check_formula,
        other.fiscal_year as other_fiscal_year,
        other.fiscal_period as other_fiscal_period,
        other.period_end as other_period_end
    from unconfirmed
    asof inner join confirmed_filings as other
        on unconfirmed.source = other.source
        and unconfirmed.symbol = other.symbol
        and unconfirmed.rule_id = other.rule_id
        and unconfirmed.period_end <= other.period_end
),

from_other_filing as (
    select * from (
        select * from nearest_before
        union all
        select * from nearest_after
    )
    qualify row_number() over (
        partition by mart_key_id, rule_id
        order by abs(datediff('day', period_end, other_period_end)), other_period_end desc
    ) = 1
),

by_concept as (
    select
        keys.mart_key_id,
        reading_concepts.rule_id,
        reading_concepts.variant,
        lines.source_concept
    from {{ changed_only(ref('int_tieout__lines'), 'company') }} as lines
    inner join reading_concepts
        on lines.line_item = reading_concepts.line_item
        and lines.source_concept = reading_concepts.concept
    inner join keys
        on lines.source = keys.source
        and lines.symbol = keys.symbol
        and lines.fiscal_year = keys.fiscal_year
        and lines.fiscal_period = keys.fiscal_period
    where lines.method = 'reported'
),

evidence as (
    select
        mart_key_id, rule_id, variant, 1 as evidence_rank,
        'confirmed by the filer''s own subtotals in this filing: ' || check_formula as reason
    from confirmed
    union all
    select
        mart_key_id, rule_id, variant, 2 as evidence_rank,
        'no confirming subtotal in this filing; the filer''s own subtotals confirm it in its '
        || other_fiscal_year || ' ' || other_fiscal_period || ' filing: ' || check_formula
    from from_other_filing
    union all
    select
        mart_key_id, rule_id, variant, 3 as evidence_rank,
        'no confirming subtotal reported; the reported concept ' || source_concept
        || ' defines it'
    from by_concept
),

best as (
    select * from evidence
    qualify row_number() over (
        partition by mart_key_id, rule_id, variant order by evidence_rank
    ) = 1
),

final as (
    select
        keys.mart_key_id,
        readings.rule_id,
        readings.variant,
        readings.reading,
        coalesce(readings.alternative_to, readings.variant) as reading_group,
        case
            -- a reading open only to some concepts (IFRS gross profit) is never chosen
            -- where the filing's concept does not allow it
            when readings.concept_required and not exists (
                select 1 from by_concept
                where by_concept.mart_key_id = keys.mart_key_id
                    and by_concept.rule_id = readings.rule_id
                    and by_concept.variant = readings.variant
            ) then 9
            else coalesce(best.evidence_rank,
                          case when readings.alternative_to is null then 4 else 5 end)
        end as evidence_rank,
        coalesce(best.reason,
            case when readings.alternative_to is null
                then 'the default reading: no subtotal or concept of the filer decides it'
            end) as reason
    from keys
    cross join readings
    left join best
        on keys.mart_key_id = best.mart_key_id
        and readings.rule_id = best.rule_id
        and readings.variant = best.variant
)

select * from final
