{#-
    A statement mart: one row per mart key with at least one line of `statement`,
    int_statement_lines pivoted to the contract's columns. The column list is the model's
    own yml (which the enforced contract checks) minus the header columns, so the yml is
    the single list of a statement's line items; a singular test checks it against the
    line_items seed. `key_columns` are header columns taken from int_statement_keys;
    `constant_columns` (name -> SQL literal) are header columns with one value for every
    row (the cash-flow basis: quarterly rows are discrete quarters, see int_quarterly_flows).
-#}
{% macro statement_mart(statement, key_columns=[], constant_columns={}) -%}
{%- set header = ['source', 'symbol', 'fiscal_year', 'fiscal_period', 'period_end', 'currency', 'filing_id'] -%}
with lines as (
    select * from {{ changed_only(ref('int_statement_lines')) }}
    where statement = '{{ statement }}'
),

{%- if key_columns %}

keys as (
    select source, symbol, fiscal_year, fiscal_period{% for c in key_columns %}, {{ c }}{% endfor %}
    from {{ changed_only(ref('int_statement_keys')) }}
),
{%- endif %}

pivoted as (
    select
        {{ header | join(', ') }},
        {{ statement_pivot_columns(header + key_columns + (constant_columns | list)) }}
    from lines
    group by {{ header | join(', ') }}
),

final as (
{%- if not key_columns %}
    select *{% for c, literal in constant_columns.items() %}, {{ literal }} as {{ c }}{% endfor %}
    from pivoted
{%- else %}
    select
        pivoted.*{% for c in key_columns %},
        keys.{{ c }}{% endfor %}
    from pivoted
    inner join keys
        on pivoted.source = keys.source
        and pivoted.symbol = keys.symbol
        and pivoted.fiscal_year = keys.fiscal_year
        and pivoted.fiscal_period = keys.fiscal_period
{%- endif %}
)

select * from final
{%- endmacro %}
