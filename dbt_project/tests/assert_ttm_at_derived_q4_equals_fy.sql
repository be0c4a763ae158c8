-- depends_on: {{ ref('ttm_flows') }}
{# The trailing twelve months ending with a derived fourth quarter (Q4 = FY - 9 months)
   are that fiscal year: Q1 + Q2 + Q3 + (FY - (Q1 + Q2 + Q3)) = FY. A row here means a TTM
   window mixed fiscal years or a quarter was differenced against the wrong year. -#}
with ttm as (
    select * from {{ ref('ttm_flows') }}
    where fiscal_period = 'Q4' and value is not null
),

quarters as (
    select * from {{ ref('quarterly_flows') }}
    where fiscal_period = 'Q4' and quarter_method = 'annual_difference'
),

annual as (
    select * from {{ ref('statement_lines') }}
    where fiscal_period = 'FY'
)

select ttm.source, ttm.symbol, ttm.fiscal_year, ttm.line_item, ttm.value, annual.value as fy_value
from ttm
inner join quarters
    on ttm.source = quarters.source
    and ttm.symbol = quarters.symbol
    and ttm.fiscal_year = quarters.fiscal_year
    and ttm.line_item = quarters.line_item
inner join annual
    on ttm.source = annual.source
    and ttm.symbol = annual.symbol
    and ttm.fiscal_year = annual.fiscal_year
    and ttm.line_item = annual.line_item
where ttm.value <> annual.value
