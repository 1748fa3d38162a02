with source as (

    select * from {{ source('raw', 'raw_events') }}

),

renamed as (

    select
        event_id,
        customer_id,
        event_type,
        event_date,
        cast(json_extract_string(properties, '$.order_id') as integer) as order_id,
        json_extract_string(properties, '$.plan') as signup_plan,
        properties,
        _loaded_at

    from source

)

select * from renamed
