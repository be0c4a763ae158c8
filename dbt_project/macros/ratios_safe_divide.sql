{#- numerator / denominator as DOUBLE, NULL when either is NULL or the denominator is zero:
    never an error, never an infinity (DuckDB's DOUBLE division by zero gives inf). -#}
{% macro ratios_safe_divide(numerator, denominator) -%}
case
    when ({{ denominator }}) is null or ({{ denominator }}) = 0 then null
    else cast(({{ numerator }}) as double) / cast(({{ denominator }}) as double)
end
{%- endmacro %}

{#- Growth against a prior value on |prior|: (x - prior) / abs(prior); NULL when the prior
    is missing or zero (a deeper loss is negative growth). -#}
{% macro ratios_growth(current, prior) -%}
{{ ratios_safe_divide('(' ~ current ~ ') - (' ~ prior ~ ')', 'abs(' ~ prior ~ ')') }}
{%- endmacro %}
