-- One evaluation per (mart row, rule): chosen variant, lhs, rhs, rounding unit, tolerance,
-- status and a readable detail. Generic over the rules/terms seeds: no rule is named here.
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
--
-- Detail: a failing row shows its formula with every value; a passing row shows the
-- variant's formula by name (its values are the lhs / rhs columns) plus any derived term
-- with its value; a skipped row says why. Values are formatted only where shown, which
-- keeps the model cheap at scale (formatting a DECIMAL is the costliest step here).
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company') }}

with

rules as (
    select
        tieout_rules.*,
        divisors.divisor_term
    from {{ ref('tieout_rules') }} as tieout_rules
    left join (
        select rule_id, max(term) as divisor_term
        from {{ ref('tieout_rule_terms') }}
        where role = 'divisor'
        group by rule_id
    ) as divisors
        on tieout_rules.rule_id = divisors.rule_id
),

terms as (
    select * from {{ ref('tieout_rule_terms') }}
),

keys as (
    select * from {{ changed_only(ref('int_tieout__mart_keys'), 'company') }}
),

units as (
    select mart_key_id, rounding_unit from {{ changed_only(ref('int_tieout__rounding_units'), 'company') }}
),

term_values as (
    select * from {{ changed_only(ref('int_tieout__term_values'), 'mart_key') }}
),

-- rules that do not apply to a filer's industry template (bank, insurer, reit): skipped
-- with the seed's reason (int_company_templates chooses the template from the data)
not_applicable as (
    select
        templates.source,
        templates.symbol,
        applicability.rule_id,
        applicability.reason
    from {{ changed_only(ref('int_company_templates'), 'company') }} as templates
    inner join {{ ref('tieout_rule_applicability') }} as applicability
        on templates.industry_template = applicability.industry_template
),

-- slot counts and formula names per rule variant: int_tieout__variant_slots
variant_slots as (
    select * from {{ ref('int_tieout__variant_slots') }}
),


required_slots as (
    select distinct rule_id, variant, term, position
    from terms
    where required
),
-- the chosen variant per (mart row, rule), with its numbers: int_tieout__variants
chosen as (
    select * from {{ changed_only(ref('int_tieout__variants'), 'mart_key') }}
),

-- names of the missing required terms, for the rows that miss any
missing as (
    select
        chosen.mart_key_id,
        chosen.rule_id,
        {{ tieout_ordered_concat('required_slots.term', 'required_slots.position', "', '") }}
            as missing_required
    from chosen
    inner join required_slots
        on chosen.rule_id = required_slots.rule_id
        and chosen.variant = required_slots.variant
    left join term_values
        on chosen.mart_key_id = term_values.mart_key_id
        and chosen.rule_id = term_values.rule_id
        and chosen.variant = term_values.variant
        and required_slots.term = term_values.term
    where chosen.required_present < chosen.required_slots
        and term_values.term is null
    group by chosen.mart_key_id, chosen.rule_id
),

joined as (
    select
        keys.mart_key_id,
        keys.source,
        keys.symbol,
        keys.fiscal_year,
        keys.fiscal_period,
        keys.filing_id,
        keys.period_end,
        rules.rule_id,
        rules.severity,
        rules.statement,
        rules.comparison,
        rules.tolerance_basis,
        rules.fixed_tolerance,
        rules.periods,
        rules.divisor_term,
        rules.divisor_term is not null as has_divisor,
        chosen.variant,
        chosen.terms_present,
        chosen.lhs_sum,
        chosen.rhs_sum,
        chosen.divisor,
        -- the formula by name joins after the variant is chosen: strings carried through
        -- the per-variant window cost memory for every mart row x variant
        names.lhs_names,
        names.rhs_names,
        names.divisor_names,
        missing.missing_required,
        chosen.own_derived,
        chosen.derived_terms,
        chosen.uses_previous_filing,
        chosen.reading,
        chosen.reading_reason,
        not_applicable.reason as not_applicable_reason,
        units.rounding_unit as own_rounding_unit,
        previous_units.rounding_unit as previous_rounding_unit
    from chosen
    inner join keys
        on chosen.mart_key_id = keys.mart_key_id
    inner join rules
        on chosen.rule_id = rules.rule_id
    inner join variant_slots as names
        on chosen.rule_id = names.rule_id
        and chosen.variant = names.variant
    inner join units
        on chosen.mart_key_id = units.mart_key_id
    left join units as previous_units
        on keys.previous_year_key_id = previous_units.mart_key_id
    left join missing
        on chosen.mart_key_id = missing.mart_key_id
        and chosen.rule_id = missing.rule_id
    left join not_applicable
        on keys.source = not_applicable.source
        and keys.symbol = not_applicable.symbol
        and chosen.rule_id = not_applicable.rule_id
),

skip_reasons as (
    select
        *,
        nullif(concat_ws('; ',
            case
                when not_applicable_reason is not null
                    then 'not applicable: ' || not_applicable_reason
            end,
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
                when has_divisor and divisor = 0 then 'divisor ' || divisor_term || ' is zero'
            end
        ), '') as skip_reason
    from joined
),

measured as (
    select
        *,
        case when skip_reason is null then cast(lhs_sum as decimal(38, 10)) end as lhs,
        -- each branch cast on its own: a CASE mixing DOUBLE and DECIMAL unifies to DOUBLE,
        -- and DOUBLE -> DECIMAL(38,10) is not exact (8223383000 became ...0000008192)
        case
            when skip_reason is null and has_divisor
                then cast(cast(rhs_sum as double) / cast(divisor as double) as decimal(38, 10))
            when skip_reason is null then cast(rhs_sum as decimal(38, 10))
        end as rhs,
        cast(
            case
                when tolerance_basis = 'fixed' then fixed_tolerance
                when skip_reason is null and uses_previous_filing
                    then greatest(own_rounding_unit,
                                  coalesce(previous_rounding_unit, own_rounding_unit))
                else own_rounding_unit
            end as decimal(38, 10)
        ) as rounding_unit
    from skip_reasons
),

evaluated as (
    select
        *,
        cast(lhs - rhs as decimal(38, 10)) as difference,
        case
            when skip_reason is null then cast(
                case
                    when tolerance_basis = 'fixed' then fixed_tolerance
                    when comparison = '<=' then rounding_unit
                    else terms_present * rounding_unit / 2
                end as decimal(38, 10)
            )
        end as tolerance
    from measured
),

judged as (
    select
        *,
        case
            when skip_reason is not null then 'skipped'
            when comparison = '=' and abs(difference) <= tolerance then 'pass'
            when comparison = '<=' and difference <= tolerance then 'pass'
            else 'fail'
        end as status
    from evaluated
),

-- the formula with every value, for the failing rows only
failing_terms as (
    select
        term_values.*,
        case when term_values.coefficient < 0 then ' - ' else ' + ' end
            || {{ tieout_term_text() }} as sum_piece,
        {{ tieout_term_text() }} as term_text
    from term_values
    inner join judged
        on term_values.mart_key_id = judged.mart_key_id
        and term_values.rule_id = judged.rule_id
        and term_values.variant = judged.variant
    where judged.status = 'fail'
),

failing_formulas as (
    select
        mart_key_id,
        rule_id,
        regexp_replace(regexp_replace(
            {{ tieout_ordered_concat(
                "case when side = 'lhs' and role = 'sum' then sum_piece end",
                'position', "''") }},
            '^ \+ ', ''), '^ - ', '-') as lhs_text,
        regexp_replace(regexp_replace(
            {{ tieout_ordered_concat(
                "case when side = 'rhs' and role = 'sum' then sum_piece end",
                'position', "''") }},
            '^ \+ ', ''), '^ - ', '-') as rhs_text,
        {{ tieout_ordered_concat(
            "case when role = 'divisor' then term_text end", 'position', "' x '") }}
            as divisor_text
    from failing_terms
    group by mart_key_id, rule_id
),

described as (
    select
        judged.*,
        case
            when judged.status = 'fail'
                then failing_formulas.lhs_text || ' ' || judged.comparison || ' '
                || case
                    when judged.has_divisor
                        then '(' || failing_formulas.rhs_text || ') / '
                        || failing_formulas.divisor_text
                        || ' = ' || {{ tieout_format_number('judged.rhs') }}
                    else failing_formulas.rhs_text
                end
            else judged.lhs_names || ' ' || judged.comparison || ' '
                || case
                    when judged.has_divisor
                        then '(' || judged.rhs_names || ') / ' || judged.divisor_names
                    else judged.rhs_names
                end
        end as formula
    from judged
    left join failing_formulas
        on judged.mart_key_id = failing_formulas.mart_key_id
        and judged.rule_id = failing_formulas.rule_id
),

final as (
    select
        mart_key_id,
        source,
        symbol,
        fiscal_year,
        fiscal_period,
        filing_id,
        period_end,
        rule_id,
        severity,
        statement,
        comparison,
        variant,
        terms_present,
        lhs,
        rhs,
        difference,
        rounding_unit,
        tolerance,
        status,
        case
            when reading is not null and not_applicable_reason is null
                then 'reading: ' || reading || coalesce(' (' || reading_reason || ')', '') || '. '
            else ''
        end
        || case
            when status = 'skipped' then 'skipped: ' || skip_reason
            else
                formula
                || '; difference ' || {{ tieout_format_number('difference') }}
                || case status when 'pass' then ' within' else ' beyond' end
                || ' tolerance ' || {{ tieout_format_number('tolerance') }}
                || case
                    when tolerance_basis = 'fixed' then ' (fixed)'
                    when comparison = '<=' then ' = unit '
                        || {{ tieout_format_number('rounding_unit') }}
                    else ' = (' || (terms_present - 1) || ' + 1) x unit '
                        || {{ tieout_format_number('rounding_unit') }} || ' / 2'
                end
                || case
                    when tolerance_basis <> 'fixed' and uses_previous_filing
                        then ' (unit: the coarser of this filing''s and the previous fiscal'
                        || ' year''s)'
                    else ''
                end
                || case
                    when status = 'pass' and derived_terms is not null
                        then '; derived terms: ' || derived_terms
                    else ''
                end
        end as detail
    from described
)

select * from final
