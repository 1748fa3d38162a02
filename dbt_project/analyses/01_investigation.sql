-- WT-06 investigation runbook: the first queries an on-call engineer runs.
-- Compile with `python -m wt06 dbt -- compile --select "resource_type:analysis"`. The
-- notebooks (notebooks/01..06) walk through the same steps with %%sql cells.
-- "Now" is the story's clock: {{ current_timestamp() }} (see macros/current_timestamp.sql).

-- Step 1. Check the data, not the dashboard: newest data per layer, and how old it is.
select 1 as step, 'raw' as layer, 'raw_orders' as relation, max(order_date) as newest_date,
       max(_loaded_at) as newest_write
from {{ source('raw', 'raw_orders') }}
union all
select 2, 'staging', 'stg_orders', max(order_date), max(_loaded_at)
from {{ ref('stg_orders') }}
union all
select 3, 'mart', 'fct_revenue_daily', max(order_date), max(_refreshed_at) from {{ ref('fct_revenue_daily') }}
order by step;

-- Step 2 (notebook 01): which order dates does staging hold that the mart lacks?

-- Step 3. Read the orchestrator's log carefully: every column, not just status.
select run_id, started_at, status, exit_code, models_run, duration_seconds, triggered_by
from {{ source('raw', 'raw_pipeline_runs') }}
order by started_at;

-- Step 4 (notebook 03): which runs were green without rebuilding the marts?
-- Step 5 (notebook 04): which models sit downstream of what the scheduler skipped, and
--         how much revenue and how many signups does the dashboard miss?
-- Step 6 (notebook 06): when would an automated check have noticed?
