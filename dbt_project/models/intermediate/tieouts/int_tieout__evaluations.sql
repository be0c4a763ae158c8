-- One evaluation per (mart row, rule): chosen variant, lhs, rhs, rounding unit, tolerance,
-- status and a readable detail. Generic over the rules/terms seeds.
--
-- Tolerance (contract): a sum of n terms passes when |lhs - rhs| <= (n + 1) x unit / 2.
-- n counts the summands, the +1 is the total they are compared with: every reported
-- value carries up to unit / 2 of rounding, so (n + 1) values carry (n + 1) x unit / 2.
-- Here (n + 1) = the number of terms present on both sides (a missing optional term is
-- not a term). total_assets = total_liabilities_and_equity: n = 1, tolerance = unit.
-- A <= B: lhs - rhs <= unit (n = 1). Fixed-tolerance rules (EPS): fixed_tolerance, which
-- is also reported as the rounding unit (EPS is reported in cents).
-- Cross-period: a cross_period term carried forward (method 'derived', no rule) comes from
-- the previous fiscal year's filing; the coarser (larger) unit of the two applies.

with

rules as (
    select * from {{ ref('tieout_rules') }}
),

keys as (
    select * from {{ ref('int_tieout__mart_keys') }}
),

units as (
    select * from {{ ref('int_tieout__rounding_units') }}
),

term_values as (
    select * from {{ ref('int_tieout__term_values') }}
),

variants as (
    select
        source,
        symbol,
        fiscal_year,
        fiscal_period,
        rule_id,
        variant,
        -- all terms that select this variant are present (vacuously true without any)
        coalesce(bool_and(is_present) filter (where selects_variant), true) as is_selected
    from term_values
    group by all
),

chosen_variant as (
    select
        source,
        symbol,
        fiscal_year,
        fiscal_period,
        rule_id,
        coalesce(min(variant) filter (where is_selected), min(variant)) as variant
    from variants
    group by all
),

chosen_terms as (
    select term_values.*
    from term_values
    inner join chosen_variant
        on term_values.source = chosen_variant.source
        and term_values.symbol = chosen_variant.symbol
        and term_values.fiscal_year = chosen_variant.fiscal_year
        and term_values.fiscal_period = chosen_variant.fiscal_period
        and term_values.rule_id = chosen_variant.rule_id
        and term_values.variant = chosen_variant.variant
),

aggregated as (
    select
        source,
        symbol,
        fiscal_year,
        fiscal_period,
        rule_id,
        any_value(variant) as variant,
        count(*) filter (where is_present) as terms_present,
        sum(coefficient * value) filter (where side = 'lhs' and role = 'sum') as lhs_sum,
        sum(coefficient * value) filter (where side = 'rhs' and role = 'sum') as rhs_sum,
        bool_or(role = 'divisor') as has_divisor,
        max(value) filter (where role = 'divisor') as divisor,
        string_agg(term, ', ' order by position) filter (where role = 'divisor') as divisor_terms,
        string_agg(term, ', ' order by position)
            filter (where required and not is_present) as missing_required,
        string_agg(line_item, ', ' order by position)
            filter (where is_present and derivation_rule = rule_id) as own_derived,
        coalesce(
            bool_or(cross_period and method = 'derived' and derivation_rule is null), false
        ) as uses_previous_filing,
        -- signed formula text per side; missing optional terms are left out (they count 0)
        string_agg(
            case when coefficient < 0 then ' - ' else ' + ' end || term_text, ''
            order by position
        ) filter (where side = 'lhs' and role = 'sum' and (is_present or required)) as lhs_text,
        string_agg(
            case when coefficient < 0 then ' - ' else ' + ' end || term_text, ''
            order by position
        ) filter (where side = 'rhs' and role = 'sum' and (is_present or required)) as rhs_sum_text,
        string_agg(term_text, ' x ' order by position)
            filter (where role = 'divisor') as divisor_text
    from chosen_terms
    group by all
),

previous_units as (
    select source, symbol, fiscal_year + 1 as fiscal_year, fiscal_period, rounding_unit
    from units
),

joined as (
    select
        keys.source,
        keys.symbol,
        keys.fiscal_year,
        keys.fiscal_period,
        keys.filing_id,
        keys.period_end,
        rules.rule_id,
        rules.ordinal,
        rules.severity,
        rules.statement,
        rules.comparison,
        rules.tolerance_basis,
        rules.fixed_tolerance,
        rules.periods,
        aggregated.variant,
        aggregated.terms_present,
        aggregated.lhs_sum,
        aggregated.rhs_sum,
        aggregated.has_divisor,
        aggregated.divisor,
        aggregated.divisor_terms,
        aggregated.missing_required,
        aggregated.own_derived,
        aggregated.uses_previous_filing,
        units.rounding_unit as own_rounding_unit,
        previous_units.rounding_unit as previous_rounding_unit,
        regexp_replace(regexp_replace(aggregated.lhs_text, '^ \+ ', ''), '^ - ', '-') as lhs_text,
        regexp_replace(regexp_replace(aggregated.rhs_sum_text, '^ \+ ', ''), '^ - ', '-')
            as rhs_sum_text,
        aggregated.divisor_text
    from keys
    cross join rules
    inner join aggregated
        on keys.source = aggregated.source
        and keys.symbol = aggregated.symbol
        and keys.fiscal_year = aggregated.fiscal_year
        and keys.fiscal_period = aggregated.fiscal_period
        and rules.rule_id = aggregated.rule_id
    inner join units
        on keys.source = units.source
        and keys.symbol = units.symbol
        and keys.fiscal_year = units.fiscal_year
        and keys.fiscal_period = units.fiscal_period
    left join previous_units
        on keys.source = previous_units.source
        and keys.symbol = previous_units.symbol
        and keys.fiscal_year = previous_units.fiscal_year
        and keys.fiscal_period = previous_units.fiscal_period
),

skip_reasons as (
    select
        *,
        nullif(concat_ws('; ',
            case
                when periods = 'annual' and fiscal_period <> 'FY'
                    then 'annual periods only (' || fiscal_period || ' row)'
            end,
            case
                when missing_required is not null
                    then 'required term missing: ' || missing_required
            end,
            case
                when own_derived is not null
                    then own_derived || ' derived from this rule''s own identity'
            end,
            case
                when has_divisor and divisor = 0 then 'divisor ' || divisor_terms || ' is zero'
            end
        ), '') as skip_reason
    from joined
),

measured as (
    select
        *,
        cast(lhs_sum as decimal(38, 10)) as lhs,
        cast(
            case
                when has_divisor then cast(rhs_sum as double) / cast(divisor as double)
                else rhs_sum
            end as decimal(38, 10)
        ) as rhs,
        cast(
            case
                when tolerance_basis = 'fixed' then fixed_tolerance
                when uses_previous_filing
                    then greatest(own_rounding_unit, coalesce(previous_rounding_unit, own_rounding_unit))
                else own_rounding_unit
            end as decimal(38, 10)
        ) as rounding_unit
    from skip_reasons
    where skip_reason is null
),

evaluated as (
    select
        *,
        cast(lhs - rhs as decimal(38, 10)) as difference,
        cast(
            case
                when tolerance_basis = 'fixed' then fixed_tolerance
                when comparison = '<=' then rounding_unit
                else terms_present * rounding_unit / 2
            end as decimal(38, 10)
        ) as tolerance
    from measured
),

judged as (
    select
        *,
        case
            when comparison = '=' and abs(difference) <= tolerance then 'pass'
            when comparison = '<=' and difference <= tolerance then 'pass'
            else 'fail'
        end as status
    from evaluated
),

final as (
    select
        skip_reasons.source,
        skip_reasons.symbol,
        skip_reasons.fiscal_year,
        skip_reasons.fiscal_period,
        skip_reasons.filing_id,
        skip_reasons.period_end,
        skip_reasons.rule_id,
        skip_reasons.ordinal,
        skip_reasons.severity,
        skip_reasons.statement,
        skip_reasons.comparison,
        skip_reasons.variant,
        skip_reasons.terms_present,
        judged.lhs,
        judged.rhs,
        judged.difference,
        coalesce(judged.rounding_unit, skip_reasons.own_rounding_unit) as rounding_unit,
        judged.tolerance,
        coalesce(judged.status, 'skipped') as status,
        case
            when judged.status is null then 'skipped: ' || skip_reasons.skip_reason
            else
                skip_reasons.lhs_text || ' ' || skip_reasons.comparison || ' '
                || case
                    when skip_reasons.has_divisor
                        then '(' || skip_reasons.rhs_sum_text || ') / ' || skip_reasons.divisor_text
                        || ' = ' || {{ tieout_format_number('judged.rhs') }}
                    else skip_reasons.rhs_sum_text
                end
                || '; difference ' || {{ tieout_format_number('judged.difference') }}
                || case judged.status when 'pass' then ' within' else ' beyond' end
                || ' tolerance ' || {{ tieout_format_number('judged.tolerance') }}
                || case
                    when skip_reasons.tolerance_basis = 'fixed' then ' (fixed)'
                    when skip_reasons.comparison = '<=' then ' = unit '
                        || {{ tieout_format_number('judged.rounding_unit') }}
                    else ' = (' || (skip_reasons.terms_present - 1) || ' + 1) x unit '
                        || {{ tieout_format_number('judged.rounding_unit') }} || ' / 2'
                end
                || case
                    when skip_reasons.tolerance_basis <> 'fixed' and skip_reasons.uses_previous_filing
                        then ' (unit: the coarser of this filing''s and the previous fiscal year''s)'
                    else ''
                end
        end as detail
    from skip_reasons
    left join judged
        on skip_reasons.source = judged.source
        and skip_reasons.symbol = judged.symbol
        and skip_reasons.fiscal_year = judged.fiscal_year
        and skip_reasons.fiscal_period = judged.fiscal_period
        and skip_reasons.rule_id = judged.rule_id
)

select * from final
