-- WT-06 verification: run after the fix. Every row should say ok = true.

with staging as (
    select max(order_date) as newest from {{ ref('stg_orders') }}
),

mart as (
    select max(order_date) as newest, max(_refreshed_at) as refreshed_at
    from {{ ref('fct_revenue_daily') }}
),

signups_staging as (
    select max(event_date) as newest from {{ ref('stg_events') }} where event_type = 'signup'
),

signups_mart as (
    select max(signup_date) as newest from {{ ref('fct_daily_signups') }}
),

revenue_gap as (
    -- revenue the mart would show if rebuilt now, minus what it shows
    select
        (select coalesce(sum(amount), 0) from {{ ref('stg_orders') }} where is_revenue)
        - (select coalesce(sum(revenue), 0) from {{ ref('fct_revenue_daily') }}) as missing
)

select 'revenue mart has caught up with staging' as check_name,
       mart.newest = staging.newest as ok
from mart, staging
union all
select 'signups mart has caught up with staging',
       signups_mart.newest = signups_staging.newest
from signups_mart, signups_staging
union all
select 'revenue mart was rebuilt within the SLA',
       mart.refreshed_at >= {{ current_timestamp() }}
           - interval '{{ var("mart_freshness_sla_hours") }} hours'
from mart
union all
select 'no revenue missing from the dashboard', missing = 0
from revenue_gap;
