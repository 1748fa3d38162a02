-- Scheduled-job runs per day: what the data platform's weekly ops report reads.
with runs as (

    select * from {{ ref('stg_pipeline_runs') }}

),

daily as (

    select
        run_date,
        count(*) as runs,
        count(*) filter (where status = 'success') as green_runs,
        sum(duration_seconds) as total_duration_seconds

    from runs
    group by run_date

),

final as (

    select
        run_date,
        runs,
        green_runs,
        total_duration_seconds,
        {{ current_timestamp() }} as _refreshed_at  -- when dbt last built this table

    from daily

)

select * from final
