-- The rounding unit of each mart row: the largest power of ten, up to a million, dividing
-- every monetary line-item value the row's own filing reports (line_items.value_kind =
-- 'monetary': not share counts or per-share values). Derived values are left out: they
-- are sums of reported ones, except carried-forward balances, which belong to another
-- filing (the cross-period rule takes that filing's unit separately). Zero divides by
-- anything; a row with no nonzero reported monetary value gets the ceiling, 1,000,000.
{{ config(materialized='incremental', incremental_strategy='replace_companies', company_key='company') }}

with

keys as (
    select mart_key_id, source, symbol, fiscal_year, fiscal_period
    from {{ changed_only(ref('int_tieout__mart_keys'), 'company') }}
),

line_items as (
    select statement, line_item, value_kind
    from {{ ref('line_items') }}
),

monetary_values as (
    select
        lines.source,
        lines.symbol,
        lines.fiscal_year,
        lines.fiscal_period,
        cast(lines.value as decimal(38, 10)) as value
    from {{ changed_only(ref('int_statement_lines'), 'company') }} as lines
    inner join line_items
        on lines.statement = line_items.statement
        and lines.line_item = line_items.line_item
    where line_items.value_kind = 'monetary'
        and lines.method = 'reported'
        and lines.value <> 0
),

-- The largest power of ten dividing a value, from its trailing zeros: a DECIMAL(38,10) as
-- text always has exactly 10 decimals ("70345000.0000000000"), so with the point removed
-- the count of trailing zeros minus 10 is the exponent (3 here; -2 for -0.02). One pass,
-- no overflow, exact.
value_exponents as (
    select
        source,
        symbol,
        fiscal_year,
        fiscal_period,
        replace(cast(value as varchar), '.', '') as digits
    from monetary_values
),

per_row as (
    select
        source,
        symbol,
        fiscal_year,
        fiscal_period,
        -- capped at a million (the contract's ceiling)
        least(min(length(digits) - length(rtrim(digits, '0')) - 10), 6) as exponent,
        count(*) as monetary_values
    from value_exponents
    group by all
),

final as (
    select
        keys.mart_key_id,
        keys.source,
        keys.symbol,
        keys.fiscal_year,
        keys.fiscal_period,
        coalesce(per_row.exponent, 6) as rounding_exponent,
        cast(power(10.0, coalesce(per_row.exponent, 6)) as decimal(38, 10)) as rounding_unit,
        coalesce(per_row.monetary_values, 0) as monetary_values
    from keys
    left join per_row
        on keys.source = per_row.source
        and keys.symbol = per_row.symbol
        and keys.fiscal_year = per_row.fiscal_year
        and keys.fiscal_period = per_row.fiscal_period
)

select * from final
