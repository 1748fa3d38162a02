-- The orchestrator's log, with the fields an on-call engineer wishes it had shown.
with source as (

    select * from {{ source('raw', 'raw_pipeline_runs') }}

),

diagnosed as (

    select
        run_id,
        run_date,
        started_at,
        finished_at,
        status,
        exit_code,
        models_run,
        duration_seconds,
        triggered_by,

        -- The production job is meant to build every model ('all'); any --select
        -- leaves some models out.
        models_run = 'all' as is_full_run,
        models_run = 'all' and status = 'success' as refreshed_marts,

        -- Green in the orchestrator, yet the marts were not rebuilt.
        status = 'success' and exit_code = 0 and models_run <> 'all' as is_phantom_success,

        _loaded_at

    from source

)

select * from diagnosed
