{#- Generic test (dbt_utils is unavailable offline): the combination of columns is unique.
    Usage: data_tests: [{unique_combination_of_columns: {combination_of_columns: [a, b]}}] -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
    {%- set columns_csv = combination_of_columns | join(', ') %}
    select {{ columns_csv }}, count(*) as occurrences
    from {{ model }}
    group by {{ columns_csv }}
    having count(*) > 1
{% endtest %}
