-- Daily revenue: what the CEO's dashboard reads.
with orders as (

    select * from {{ ref('int_orders_enriched') }}

),

daily as (

    select
        order_date,
        count(*) as orders,
        count(*) filter (where is_revenue) as completed_orders,
        coalesce(sum(amount) filter (where is_revenue), 0) as revenue

    from orders
    group by order_date

),

final as (

    select
        order_date,
        orders,
        completed_orders,
        cast(revenue as decimal(12, 2)) as revenue,
        {{ current_timestamp() }} as _refreshed_at  -- when dbt last built this table

    from daily

)

select * from final
