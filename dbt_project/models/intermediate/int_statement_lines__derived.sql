{#-
    Derived line items, for missing values only (a reported value is never overwritten):
    1. identities from the `derivations` seed: target = sum(coefficient x term) when every
       required term is reported (optional terms count as zero) and the reported terms
       share one cash-flow basis; derivation_rule = the identity's rule_id (NULL for
       free_cash_flow, which has none);
    2. cash_beginning_of_period of an annual (FY) row with a reported cash-flow statement
       = the previous fiscal year's reported cash_end_of_period, carried forward
       (derivation_rule NULL: carrying a balance forward is the definition of
       cf_cash_rollforward, not its identity).
    Terms are reported values only (one pass), so a derived value never feeds another.
    value_filing_id is the highest-precedence version among the terms' suppliers (for a
    carried-forward balance: the version that reported the previous year's cash).
-#}
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company') }}
with reported as (
    select * from {{ changed_only(ref('int_statement_lines__reported'), 'company') }}
),

derivations as (
    select * from {{ ref('derivations') }}
),

line_items as (
    select statement, line_item from {{ ref('line_items') }}
),

keys as (
    select distinct source, symbol, fiscal_year, fiscal_period
    from reported
),

term_values as (
    select
        keys.source,
        keys.symbol,
        keys.fiscal_year,
        keys.fiscal_period,
        derivations.line_item,
        derivations.rule_id,
        derivations.formula,
        derivations.coefficient,
        derivations.required,
        reported.value,
        reported.value_filing_id,
        reported.value_version_rank,
        case
            when reported.statement = 'cash_flow_statement' then reported.cash_flow_basis
        end as cash_flow_basis
    from keys
    cross join derivations
    left join reported
        on keys.source = reported.source
        and keys.symbol = reported.symbol
        and keys.fiscal_year = reported.fiscal_year
        and keys.fiscal_period = reported.fiscal_period
        and derivations.term = reported.line_item
),

identities as (
    select
        source,
        symbol,
        fiscal_year,
        fiscal_period,
        line_item,
        any_value(rule_id) as derivation_rule,
        any_value(formula) as derivation,
        cast(sum(coefficient * coalesce(value, 0)) as decimal(38, 10)) as value,
        arg_min(value_filing_id, value_version_rank) as value_filing_id
    from term_values
    group by source, symbol, fiscal_year, fiscal_period, line_item
    having bool_and(value is not null or not required)
        and count(value) > 0
        and count(distinct cash_flow_basis) <= 1
),

cash_carried_forward as (
    select
        this_year.source,
        this_year.symbol,
        this_year.fiscal_year,
        this_year.fiscal_period,
        'cash_beginning_of_period' as line_item,
        cast(null as varchar) as derivation_rule,
        'cash_end_of_period of fiscal year ' || previous_year.fiscal_year
            || ' FY, carried forward' as derivation,
        previous_year.value,
        previous_year.value_filing_id
    from keys as this_year
    inner join reported as previous_year
        on this_year.source = previous_year.source
        and this_year.symbol = previous_year.symbol
        and this_year.fiscal_year - 1 = previous_year.fiscal_year
        and previous_year.fiscal_period = 'FY'
        and previous_year.line_item = 'cash_end_of_period'
    where this_year.fiscal_period = 'FY'
        and exists (
            select 1
            from reported as cash_flow
            where cash_flow.source = this_year.source
                and cash_flow.symbol = this_year.symbol
                and cash_flow.fiscal_year = this_year.fiscal_year
                and cash_flow.fiscal_period = this_year.fiscal_period
                and cash_flow.statement = 'cash_flow_statement'
        )
),

derived as (
    select * from identities
    union all
    select * from cash_carried_forward
),

final as (
    select
        derived.source,
        derived.symbol,
        derived.fiscal_year,
        derived.fiscal_period,
        line_items.statement,
        derived.line_item,
        derived.value,
        derived.value_filing_id,
        derived.derivation,
        derived.derivation_rule
    from derived
    inner join line_items
        on derived.line_item = line_items.line_item
    where not exists (
        select 1
        from reported
        where reported.source = derived.source
            and reported.symbol = derived.symbol
            and reported.fiscal_year = derived.fiscal_year
            and reported.fiscal_period = derived.fiscal_period
            and reported.line_item = derived.line_item
    )
)

select * from final
