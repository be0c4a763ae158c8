{#- A DECIMAL as readable text for tie-out details: 70345000, -0.02, 1500.5 (no trailing
    zeros). The cast fixes the scale at 10, so the text always has a decimal point and
    stripping trailing zeros (and then the point) never touches the integer part. -#}
{% macro tieout_format_number(expr) -%}
regexp_replace(cast(cast({{ expr }} as decimal(38, 10)) as varchar), '\.?0+$', '')
{%- endmacro %}
