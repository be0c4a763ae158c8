-- The chosen variant of every rule for every mart row, with the numbers of its present
-- terms (lhs / rhs sums, divisor, counts) and the derived-term texts. Its own table so
-- that int_tieout__evaluations reads it from storage: as a CTE referenced twice there it
-- was held in memory and ran out of it at 10,000 companies. Generic over the seeds.
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='mart_key') }}

with


terms as (
    select * from {{ ref('tieout_rule_terms') }}
),

keys as (
    select * from {{ changed_only(ref('int_tieout__mart_keys'), 'company') }}
),


term_values as (
    select * from {{ changed_only(ref('int_tieout__term_values'), 'mart_key') }}
),

-- slot counts and formula names per rule variant: int_tieout__variant_slots
variant_slots as (
    select * from {{ ref('int_tieout__variant_slots') }}
    -- confirm_* identities decide readings (int_tieout__readings); they are not rules
    where rule_id in (select rule_id from {{ ref('tieout_rules') }})
),

-- the evidence for each reading of a rule with two readings of the filer's structure
readings as (
    select * from {{ changed_only(ref('int_tieout__readings'), 'mart_key') }}
),

selecting_slots as (
    select rule_id, variant, count(distinct term) as selecting_slots
    from terms
    where selects_variant
    group by rule_id, variant
),


-- the present terms of every variant: numbers only. The text lists below aggregate only
-- the few rows they describe (derived terms), so this, the one aggregate over every
-- (mart row, rule, variant), stays numeric: list aggregates over all ~2M groups ran out
-- of memory at 10,000 companies.
present_numbers as (
    select
        mart_key_id,
        rule_id,
        variant,
        count(*) as terms_present,
        count(*) filter (where required) as required_present,
        count(*) filter (where selects_variant) as selecting_present,
        sum(coefficient * value) filter (where side = 'lhs' and role = 'sum') as lhs_sum,
        sum(coefficient * value) filter (where side = 'rhs' and role = 'sum') as rhs_sum,
        max(value) filter (where role = 'divisor') as divisor,
        coalesce(
            bool_or(cross_period and method = 'derived' and derivation_rule is null), false
        ) as uses_previous_filing
    from term_values
    group by mart_key_id, rule_id, variant
),

derived_texts as (
    select
        mart_key_id,
        rule_id,
        variant,
        {{ tieout_ordered_concat(
            'case when derivation_rule = rule_id then line_item end', 'position', "', '") }}
            as own_derived,
        {{ tieout_ordered_concat(tieout_term_text(), 'position', "', '") }} as derived_terms
    from term_values
    where method = 'derived'
    group by mart_key_id, rule_id, variant
),

present as (
    select
        present_numbers.*,
        derived_texts.own_derived,
        derived_texts.derived_terms
    from present_numbers
    left join derived_texts
        on present_numbers.mart_key_id = derived_texts.mart_key_id
        and present_numbers.rule_id = derived_texts.rule_id
        and present_numbers.variant = derived_texts.variant
),

-- every mart row x rule variant, whatever is present
per_variant as (
    select
        keys.mart_key_id,
        variant_slots.rule_id,
        variant_slots.variant,
        variant_slots.variants,
        variant_slots.required_slots,
        coalesce(present.terms_present, 0) as terms_present,
        coalesce(present.required_present, 0) as required_present,
        -- all terms that select this variant are present (vacuously true without any)
        coalesce(present.selecting_present, 0)
            = coalesce(selecting_slots.selecting_slots, 0) as is_selected,
        present.lhs_sum,
        present.rhs_sum,
        present.divisor,
        coalesce(present.uses_previous_filing, false) as uses_previous_filing,
        present.own_derived,
        present.derived_terms,
        readings.reading,
        readings.reason as reading_reason,
        coalesce(readings.reading_group, variant_slots.variant) as reading_group,
        coalesce(readings.evidence_rank, 4) as evidence_rank
    from keys
    cross join variant_slots
    left join selecting_slots
        on variant_slots.rule_id = selecting_slots.rule_id
        and variant_slots.variant = selecting_slots.variant
    left join present
        on keys.mart_key_id = present.mart_key_id
        and variant_slots.rule_id = present.rule_id
        and variant_slots.variant = present.variant
    left join readings
        on keys.mart_key_id = readings.mart_key_id
        and variant_slots.rule_id = readings.rule_id
        and variant_slots.variant = readings.variant
),

-- the lowest selected variant, else the first; among the selected readings of one group
-- (a variant and its alternative readings) the best-evidenced one (int_tieout__readings);
-- ranked only for rules with alternatives
chosen as (
    select * from per_variant
    where variants = 1
    union all
    select * from per_variant
    where variants > 1
    qualify row_number() over (
        partition by mart_key_id, rule_id
        order by is_selected desc, reading_group, evidence_rank, variant
    ) = 1
)

select * from chosen
