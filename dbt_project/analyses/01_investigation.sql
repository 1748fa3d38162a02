-- WT-06 investigation runbook: the order an on-call engineer works in. The notebooks
-- (notebooks/01..06) walk through each step; the queries that answer them are yours to
-- write there. "Now" is the story's clock: {{ current_timestamp() }}
-- (see macros/current_timestamp.sql).
--
-- Step 1 (notebook 01)  Check the data, not the dashboard: how old is each layer's
--                       newest data, measured against now?
-- Step 2 (notebook 02)  Read the orchestrator's run log: every column, not only status.
-- Step 3 (notebook 03)  Which green runs did not rebuild what the dashboard reads? When
--                       did it start, and which change to the scheduled job caused it?
-- Step 4 (notebook 04)  What does the dashboard depend on that was not built, and what
--                       is it missing?
-- Step 5 (notebook 05)  Fix the job, catch up, add the two-layer defence.
-- Step 6 (notebook 06)  When would an automated check have noticed?

-- A first look that answers nothing yet: when did each raw table last receive a row?
select 'raw_customers' as raw_table, max(_loaded_at) as last_loaded_at
from {{ source('raw', 'raw_customers') }}
union all
select 'raw_orders', max(_loaded_at) from {{ source('raw', 'raw_orders') }}
union all
select 'raw_events', max(_loaded_at) from {{ source('raw', 'raw_events') }}
union all
select 'raw_pipeline_runs', max(_loaded_at) from {{ source('raw', 'raw_pipeline_runs') }}
union all
select 'raw_job_revisions', max(_loaded_at) from {{ source('raw', 'raw_job_revisions') }}
order by 1
