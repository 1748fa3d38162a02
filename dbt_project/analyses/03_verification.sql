-- WT-06 verification: run after the fix. Every row should say ok = true.

with staging as (
    select max(order_date) as newest from {{ ref('stg_orders') }}
),

mart as (
    select max(order_date) as newest from {{ ref('fct_revenue_daily') }}
),

signups_staging as (
    select max(event_date) as newest from {{ ref('stg_events') }}
    where event_type = 'signup'
),

signups_mart as (
    select max(signup_date) as newest from {{ ref('fct_daily_signups') }}
),

latest_run as (
    -- the most recent `dbt run` recorded in this warehouse (replayed or yours)
    select models_run from audit.dbt_invocations
    where subcommand in ('run', 'build')
    order by invoked_at desc
    limit 1
)

select
    'revenue mart has caught up with staging' as check_name,
    mart.newest = staging.newest as ok
from mart, staging
union all
select
    'signups mart has caught up with staging',
    signups_mart.newest = signups_staging.newest
from signups_mart, signups_staging
union all
select
    'the latest run built both marts',
    list_has_all(models_run, ['fct_revenue_daily', 'fct_daily_signups'])
from latest_run;
