{#-
    Point in time: the latest known value of every reported line item of every company as
    of `as_of_date` (a DATE expression: a literal `date '2010-01-01'`, a column of the
    outer query, or a bind parameter), without look-ahead: rows of
    marts.statement_lines_history with known_from <= as_of_date <= known_until (or still
    current). A filing is known from the day after its filed_date. Usable in a model
    (`select * from ({{ point_in_time("date '2010-01-01'") }})`) or copied as SQL: see
    the README (Dimensions) for the backtest join on prices.
-#}
{% macro point_in_time(as_of_date, relation=none) -%}
select *
from {{ relation if relation is not none else ref('statement_lines_history') }}
where known_from <= ({{ as_of_date }})
    and (known_until is null or ({{ as_of_date }}) <= known_until)
{%- endmacro %}
