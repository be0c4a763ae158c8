{#-
    The line-item columns of a statement mart, pivoted from int_statement_lines.
    The column list is the model's own yml columns minus the key/header columns, so the
    yml (which the enforced contract checks) is the single list of a statement's line
    items; a singular test checks it against the line_items seed.
-#}
{% macro statement_pivot_columns(header_columns) -%}
    {%- set line_items = [] -%}
    {%- for name in model.columns.keys() if name not in header_columns -%}
        {%- do line_items.append(name) -%}
    {%- endfor -%}
    {%- for name in line_items %}
        cast(max(value) filter (where line_item = '{{ name }}') as decimal(38, 10)) as {{ name }}{{ "," if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
