{#- How a term with a value reads in a tie-out detail: "total_equity 5003000 [derived by
    bs_total_equity_sum]". Columns of int_tieout__term_values. -#}
{% macro tieout_term_text() -%}
line_item || ' ' || {{ tieout_format_number('value') }}
    || case
        when method = 'derived' and derivation_rule is not null
            then ' [derived by ' || derivation_rule || ']'
        when method = 'derived'
            then ' [derived: ' || coalesce(derivation, 'no rule') || ']'
        else ''
    end
{%- endmacro %}
