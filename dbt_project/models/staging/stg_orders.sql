with source as (

    select * from {{ source('raw', 'raw_orders') }}

),

renamed as (

    select
        order_id,
        customer_id,
        order_date,
        amount,
        status,
        status = 'completed' as is_revenue,  -- returned orders earn nothing
        _loaded_at

    from source

)

select * from renamed
