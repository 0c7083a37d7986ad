"""charge-payment: on shop.stock.reserved, charge the order once.

The provider may be slow, so the charge is not one transaction: it is opened
as pending (the order id is its idempotency key), the provider is asked, and
the answer recorded. A redelivery that finds the charge pending either comes
while the first attempt still waits for the provider (a young charge: answer
503, the broker tries again later and then finds the recorded reply), or
after that attempt died half way (a charge older than CHARGE_STALE_AFTER
seconds: cancel it, so a late approval changes nothing). Either way the
outcome ends known and final.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cloudevents.core.base import BaseCloudEvent

from functions.runtime import saga_events
from functions.runtime.event_function import EventFunction, RetryLater
from functions.runtime.event_payloads import follow_up
from shop.domain.payments import ChargeStatus, SimulatedProvider
from shop.persistence.inbox_store import NOT_SEEN, InboxStore
from shop.telemetry import metrics
from shop.telemetry.tracing import order_span
from shop.usecases import payments


class ChargePayment(EventFunction):
    name = "charge-payment"
    context = "payments"
    consumes = (saga_events.STOCK_RESERVED,)
    step = "charge payment"

    def start(self, environ=None) -> None:
        super().start(environ)
        self.provider = SimulatedProvider(self.settings.provider)

    def once(self, event: BaseCloudEvent) -> BaseCloudEvent:
        data = saga_events.data_of(event)
        order_id = data["order_id"]
        with self.database.writing() as session:
            seen = InboxStore(session, self.context).reply_to(self.name, event.get_id())
            if seen is not NOT_SEEN:
                return saga_events.retraced(saga_events.decode(seen))
        with order_span(self.step, order_id):
            reply = self._charge(event, data)
        with self.database.writing() as session:
            inbox = InboxStore(session, self.context)
            if inbox.reply_to(self.name, event.get_id()) is NOT_SEEN:
                inbox.record(self.name, event.get_id(), saga_events.encode(reply))
        self.log.info("%s %s -> %s", event.get_type(), event.get_id(), reply.get_type())
        return reply

    def _charge(self, event: BaseCloudEvent, data: dict) -> BaseCloudEvent:
        """Open the charge, ask the provider or settle what an earlier attempt left; the
        reply. A decision is counted once its transaction has committed."""
        order_id, amount, currency = data["order_id"], data["amount_cents"], data["currency"]
        with self.database.writing() as session:
            charge, is_new = payments.open_charge(session, order_id, amount, currency)
        if is_new:
            decision = self.provider.decide(data["payment_token"], amount)
            with self.database.writing() as session:
                charge = payments.record_decision(session, order_id, decision)
            metrics.PAYMENTS.labels(str(charge.status)).inc()
        elif charge.status is ChargeStatus.PENDING and not self._stale(charge):
            raise RetryLater(f"the charge of {order_id} is under way")
        elif charge.status is ChargeStatus.PENDING:
            self.log.warning(
                "order %s: charge left pending by an earlier attempt, cancelled", order_id
            )
            with self.database.writing() as session:
                charge = payments.cancel(session, order_id, amount, currency)
            metrics.PAYMENTS.labels(str(charge.status)).inc()
        type_ = saga_events.PAYMENT_SUCCEEDED if charge.captured else saga_events.PAYMENT_FAILED
        return follow_up(type_, event, self.name, status=str(charge.status), reason=charge.reason)

    def _stale(self, charge) -> bool:
        age = datetime.now(UTC) - charge.created_at
        return age > timedelta(seconds=self.settings.charge_stale_after)


def new() -> ChargePayment:
    return ChargePayment()
