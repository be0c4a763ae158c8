-- Every term slot of every rule variant, for every mart row, with the value that fills it:
-- the first alternative (by priority) present in statement_lines, or none. Set-based over
-- the rules-as-data seeds: no rule is named in SQL.

with

keys as (
    select source, symbol, fiscal_year, fiscal_period
    from {{ ref('int_tieout__mart_keys') }}
),

terms as (
    select * from {{ ref('tieout_rule_terms') }}
),

lines as (
    select
        source,
        symbol,
        fiscal_year,
        fiscal_period,
        line_item,
        cast(value as decimal(38, 10)) as value,
        method,
        derivation,
        derivation_rule
    from {{ ref('statement_lines') }}
),

candidates as (
    select
        keys.source,
        keys.symbol,
        keys.fiscal_year,
        keys.fiscal_period,
        terms.rule_id,
        terms.variant,
        terms.side,
        terms.position,
        terms.term,
        terms.priority,
        terms.line_item,
        terms.coefficient,
        terms.role,
        terms.required,
        terms.selects_variant,
        terms.cross_period,
        lines.value,
        lines.method,
        lines.derivation,
        lines.derivation_rule
    from keys
    cross join terms
    left join lines
        on keys.source = lines.source
        and keys.symbol = lines.symbol
        and keys.fiscal_year = lines.fiscal_year
        and keys.fiscal_period = lines.fiscal_period
        and terms.line_item = lines.line_item
),

slots as (
    select *
    from candidates
    qualify row_number() over (
        partition by source, symbol, fiscal_year, fiscal_period, rule_id, variant, term
        order by (value is null), priority
    ) = 1
),

final as (
    select
        source,
        symbol,
        fiscal_year,
        fiscal_period,
        rule_id,
        variant,
        side,
        position,
        term,
        line_item,
        coefficient,
        role,
        required,
        selects_variant,
        cross_period,
        value is not null as is_present,
        value,
        method,
        derivation,
        derivation_rule,
        -- how the term reads in the detail text
        case
            when value is null then term || ' (missing)'
            else line_item || ' ' || {{ tieout_format_number('value') }}
                || case
                    when method = 'derived' and derivation_rule is not null
                        then ' [derived by ' || derivation_rule || ']'
                    when method = 'derived'
                        then ' [derived: ' || coalesce(derivation, 'no rule') || ']'
                    else ''
                end
        end as term_text
    from slots
)

select * from final
