-- Daily signups, from the product analytics events.
with signups as (

    select * from {{ ref('stg_events') }}
    where event_type = 'signup'

),

customers as (

    select * from {{ ref('stg_customers') }}

),

daily as (

    select
        signups.event_date as signup_date,
        count(*) as signups,
        count(*) filter (where customers.is_paid_plan) as paid_signups

    from signups
    left join customers using (customer_id)
    group by signups.event_date

),

final as (

    select
        signup_date,
        signups,
        paid_signups,
        {{ current_timestamp() }} as _refreshed_at  -- when dbt last built this table

    from daily

)

select * from final
