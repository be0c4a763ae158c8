{#- Generic test (dbt_utils is unavailable offline): every row satisfies the expression.
    Usage: data_tests: [{expression_is_true: {expression: "a >= b"}}] -#}
{% test expression_is_true(model, expression) %}
    select *
    from {{ model }}
    where not coalesce(({{ expression }}), false)
{% endtest %}
