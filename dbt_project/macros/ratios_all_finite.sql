{#- Model-level test: no ratio column of macros/ratios_definitions.sql is infinite or NaN
    (safe arithmetic returns NULL instead). Fails with the offending rows. -#}
{% test ratios_all_finite(model) %}
select *
from {{ model }}
where false
    {% for ratio in ratios_definitions() -%}
    or isinf({{ ratio.name }}) or isnan({{ ratio.name }})
    {% endfor %}
{% endtest %}
