-- The orchestrator's run log, one row per run of the scheduled dbt job, as it logs it.
with source as (

    select * from {{ source('raw', 'raw_pipeline_runs') }}

),

renamed as (

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
        _loaded_at

    from source

)

select * from renamed
