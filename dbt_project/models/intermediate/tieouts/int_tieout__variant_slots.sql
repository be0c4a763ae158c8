-- Per rule variant, from the seeds: how many slots it has, how many are required, and its
-- formula by name (lhs / rhs / divisor). Read by int_tieout__variants (slot counts) and
-- int_tieout__evaluations (the formula text). Generic over the rules/terms seeds.

with

terms as (
    select * from {{ ref('tieout_rule_terms') }}
),

-- per rule variant, from the seed: slot counts and the formula by name
slot_names as (
    select
        rule_id,
        variant,
        side,
        position,
        term,
        role,
        min(coefficient) as coefficient,
        bool_or(required) as required,
        string_agg(line_item, ' else ' order by priority) as names
    from terms
    group by rule_id, variant, side, position, term, role
),

variant_slots as (
    select
        rule_id,
        variant,
        max(variant) over (partition by rule_id) as variants,
        count(*) filter (where required) as required_slots,
        regexp_replace(regexp_replace(
            string_agg(
                case when coefficient < 0 then ' - ' else ' + ' end || names
                    || case when required then '' else ' (optional)' end,
                '' order by position
            ) filter (where side = 'lhs' and role = 'sum'),
            '^ \+ ', ''), '^ - ', '-') as lhs_names,
        regexp_replace(regexp_replace(
            string_agg(
                case when coefficient < 0 then ' - ' else ' + ' end || names
                    || case when required then '' else ' (optional)' end,
                '' order by position
            ) filter (where side = 'rhs' and role = 'sum'),
            '^ \+ ', ''), '^ - ', '-') as rhs_names,
        string_agg(names, ' x ' order by position) filter (where role = 'divisor')
            as divisor_names
    from slot_names
    group by rule_id, variant
)

select * from variant_slots
