"""Stage 3: functions. Small handlers for Knative, one folder each, choreographed by events.

HTTP functions (Knative Serving) answer the public API behind the gateway:
    catalog_read, stock_read, order_read, payment_read, notification_read,
    place_order, admin_writes
Event functions (Knative Eventing triggers on the broker) run the order saga:
    reserve_stock     on shop.order.placed       -> shop.stock.reserved | shop.stock.rejected
    charge_payment    on shop.stock.reserved     -> shop.payment.succeeded | shop.payment.failed
    finalize_order    on shop.payment.succeeded, shop.payment.failed, shop.stock.rejected
                                                 -> shop.order.confirmed | shop.order.rejected
                      on shop.stock.committed, shop.stock.released, shop.customer.notified
                                                 (a step after the outcome is done)
    commit_stock      on shop.order.confirmed    -> shop.stock.committed
    release_stock     on shop.order.rejected     -> shop.stock.released
    notify_customer   on shop.order.confirmed, shop.order.rejected -> shop.customer.notified
A timer function (a Knative PingSource) finishes orders left pending, and final
orders whose steps after the outcome never reported back:
    redrive_orders
The broker's dead-letter sink keeps what it gave up on (admin list, not routed by the gateway):
    dead_letters
The triggers are k8s/functions/triggers.yaml; locally, functions/broker reads that file.
"""
