with source as (

    select * from {{ source('raw', 'raw_customers') }}

),

renamed as (

    select
        customer_id,
        name as customer_name,
        lower(email) as email,
        signup_date,
        plan,
        plan <> 'free' as is_paid_plan,
        _loaded_at

    from source

)

select * from renamed
