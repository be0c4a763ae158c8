-- depends_on: {{ ref('balance_sheet') }}
-- depends_on: {{ ref('income_statement') }}
-- depends_on: {{ ref('cash_flow_statement') }}
{# Every line item of the line_items seed is a column of its statement mart, and every
    statement mart column is a line item or a header column (the marts' column lists live
    in their yml; the seed drives the concept map, derivations and tie-outs). -#}
with seed as (
    select statement, line_item from {{ ref('line_items') }}
),

mart_columns as (
    select table_name as statement, column_name as line_item
    from information_schema.columns
    where table_schema = 'marts'
        and table_name in ('balance_sheet', 'income_statement', 'cash_flow_statement')
        and column_name not in (
            'source', 'symbol', 'fiscal_year', 'fiscal_period', 'period_end', 'currency',
            'filing_id', 'cash_flow_basis'
        )
),

missing_from_marts as (
    select statement, line_item, 'in seed, not in mart' as problem
    from seed
    where not exists (
        select 1 from mart_columns
        where mart_columns.statement = seed.statement
            and mart_columns.line_item = seed.line_item
    )
),

missing_from_seed as (
    select statement, line_item, 'in mart, not in seed' as problem
    from mart_columns
    where not exists (
        select 1 from seed
        where seed.statement = mart_columns.statement
            and seed.line_item = mart_columns.line_item
    )
)

select * from missing_from_marts
union all
select * from missing_from_seed
