-- The reported or derived values that fill the terms of every rule variant (seed
-- tieout_rule_terms), one row per (mart row, rule, variant, term slot) that has a value:
-- for a slot with alternatives, the first present one by priority. Terms without a
-- value have no row (int_tieout__evaluations counts them against the seed; the detail
-- text is formatted there, only where it is shown: macro tieout_term_text). Set-based
-- over the rules-as-data seeds: no rule is named in SQL. A table, not a view: both
-- int_tieout__variants and int_tieout__evaluations read it, some parts more than once.
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='mart_key') }}

with

keys as (
    select mart_key_id, source, symbol, fiscal_year, fiscal_period
    from {{ changed_only(ref('int_tieout__mart_keys'), 'company') }}
),

terms as (
    select
        *,
        count(*) over (partition by rule_id, variant, term) as alternatives
    from {{ ref('tieout_rule_terms') }}
),

statement_lines as (
    select * from {{ changed_only(ref('int_tieout__lines'), 'company') }}
),

lines as (
    select
        keys.mart_key_id,
        statement_lines.line_item,
        cast(statement_lines.value as decimal(38, 10)) as value,
        statement_lines.method,
        statement_lines.derivation,
        statement_lines.derivation_rule
    from statement_lines
    inner join keys
        on statement_lines.source = keys.source
        and statement_lines.symbol = keys.symbol
        and statement_lines.fiscal_year = keys.fiscal_year
        and statement_lines.fiscal_period = keys.fiscal_period
),

present as (
    select
        lines.mart_key_id,
        terms.rule_id,
        terms.variant,
        terms.side,
        terms.position,
        terms.term,
        terms.priority,
        terms.alternatives,
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
    from terms
    inner join lines
        on terms.line_item = lines.line_item
),

-- a slot with alternatives takes the first present one by priority (ranked only there)
single_alternative as (
    select * from present
    where alternatives = 1
),

first_alternative as (
    select * from present
    where alternatives > 1
    qualify row_number() over (
        partition by mart_key_id, rule_id, variant, term
        order by priority
    ) = 1
),

slots as (
    select * from single_alternative
    union all
    select * from first_alternative
),

final as (
    select
        mart_key_id,
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
        value,
        method,
        derivation,
        derivation_rule
    from slots
)

select * from final
