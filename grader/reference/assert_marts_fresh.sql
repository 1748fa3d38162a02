-- One row per dashboard mart that has not been rebuilt within the SLA; dbt counts any
-- returned row as a failure. "Now" is the story's clock (current_timestamp() override).
with marts as (

    select 'fct_revenue_daily' as mart, max(_refreshed_at) as last_refreshed_at
    from {{ ref('fct_revenue_daily') }}

    union all

    select 'fct_daily_signups' as mart, max(_refreshed_at) as last_refreshed_at
    from {{ ref('fct_daily_signups') }}

)

select
    mart,
    last_refreshed_at,
    round(date_diff('minute', last_refreshed_at, {{ current_timestamp() }}) / 60, 1) as hours_stale
from marts
where last_refreshed_at < {{ current_timestamp() }}
    - interval '{{ var("mart_freshness_sla_hours") }} hours'
