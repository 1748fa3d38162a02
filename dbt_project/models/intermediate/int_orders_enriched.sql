-- Orders with what the shop knows about who placed them: the revenue mart's input.
with orders as (

    select * from {{ ref('stg_orders') }}

),

customers as (

    select * from {{ ref('stg_customers') }}

),

enriched as (

    select
        orders.order_id,
        orders.order_date,
        orders.customer_id,
        customers.plan,
        customers.is_paid_plan,
        orders.amount,
        orders.status,
        orders.is_revenue,
        orders._loaded_at

    from orders
    left join customers using (customer_id)

)

select * from enriched
