"""The reconciliation after a chaos run: do the stage's databases keep the shop's promises?

Each check compares what the databases hold (a `Ledger`) and lists every
order or sku that breaks a promise; a check passes when that list is empty:

- every order is final (a pending one is listed with its age);
- stock per sku: available + reserved + sold is what was there before the run
  plus restocks, the units sold are those of the confirmed orders, the units
  reserved are those of the reservations still held;
- stock per order: a confirmed order's reservation is committed with exactly
  its lines, a rejected order's is released or was never held, no reservation
  is held for a final order, none is held or sold for an order that does not exist;
- payments per order: a confirmed order has one captured charge of its total,
  a rejected (or unknown) order has nothing captured;
- notifications per order: a final order has exactly one message, of its outcome.

Dead letters (the functions' broker) are listed beside the checks: a dead
letter is not wrong in itself when the re-drive finished its order, and the
checks above show whether it did.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from loadtests.chaos.ledger import Ledger, OrderRecord
from shop.domain.inventory import ReservationStatus
from shop.domain.notifications import NotificationKind
from shop.domain.orders import OrderStatus
from shop.domain.payments import ChargeStatus

# Plain strings, as the tables store them.
CONFIRMED, REJECTED = OrderStatus.CONFIRMED.value, OrderStatus.REJECTED.value
PENDING = OrderStatus.PENDING.value
HELD, COMMITTED = ReservationStatus.HELD.value, ReservationStatus.COMMITTED.value
NEVER_HELD_OR_GIVEN_BACK = {ReservationStatus.RELEASED.value, ReservationStatus.REJECTED.value}
CAPTURED, OPEN = ChargeStatus.CAPTURED.value, ChargeStatus.PENDING.value
MESSAGE_FOR = {
    CONFIRMED: NotificationKind.ORDER_CONFIRMED.value,
    REJECTED: NotificationKind.ORDER_REJECTED.value,
}
SHOWN = 25  # problems shown per check in the text report (the JSON keeps them all)


@dataclass
class Check:
    """One promise, checked: what was compared (summary) and every breach found."""

    key: str
    title: str
    summary: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


def _lines(lines: Mapping[str, int]) -> str:
    return ", ".join(f"{sku} x{quantity}" for sku, quantity in sorted(lines.items())) or "no lines"


def _final(order: OrderRecord) -> bool:
    return order.status in (CONFIRMED, REJECTED)


def orders_final(ledger: Ledger) -> Check:
    check = Check("orders_final", "every order final")
    counts = Counter(o.status for o in ledger.orders.values())
    reasons = Counter(o.reason for o in ledger.orders.values() if o.status == REJECTED)
    why = ", ".join(f"{n} {reason}" for reason, n in sorted(reasons.items(), key=str))
    check.summary = (
        f"{len(ledger.orders)} orders: {counts[CONFIRMED]} confirmed, {counts[REJECTED]} "
        f"rejected{f' ({why})' if why else ''}, {counts[PENDING]} pending"
    )
    for order in sorted(ledger.orders.values(), key=lambda o: o.created_at):
        if order.status == PENDING:
            age = (ledger.read_at - order.created_at).total_seconds()
            check.problems.append(f"{order.id} pending for {age:.0f} s ({_lines(order.lines)})")
        elif not _final(order):
            check.problems.append(f"{order.id} has an unknown status {order.status!r}")
    return check


def stock_per_sku(
    ledger: Ledger, initial: Mapping[str, int], restocks: Mapping[str, int] | None = None
) -> Check:
    check = Check("stock_per_sku", "stock conserved per sku")
    restocks = restocks or {}
    sold_to: dict[str, dict[str, int]] = defaultdict(dict)  # sku -> confirmed order -> units
    held: Counter[str] = Counter()
    for order in ledger.orders.values():
        if order.status == CONFIRMED:
            for sku, quantity in order.lines.items():
                sold_to[sku][order.id] = quantity
    for reservation in ledger.reservations.values():
        if reservation.statuses == {HELD}:
            held.update(reservation.lines)
    skus = sorted(set(ledger.stock) | set(initial) | set(restocks) | set(sold_to) | set(held))
    for sku in skus:
        level = ledger.stock.get(sku)
        if level is None:
            check.problems.append(f"{sku}: no stock level, yet orders or reservations name it")
            continue
        expected = initial.get(sku, 0) + restocks.get(sku, 0)
        if level.total != expected:
            check.problems.append(
                f"{sku}: available {level.available} + reserved {level.reserved} + sold "
                f"{level.sold} = {level.total}, but {initial.get(sku, 0)} initial + "
                f"{restocks.get(sku, 0)} restocked = {expected}"
            )
        confirmed = sum(sold_to[sku].values())
        if level.sold != confirmed:
            orders = ", ".join(f"{oid} x{n}" for oid, n in sorted(sold_to[sku].items()))
            check.problems.append(
                f"{sku}: {level.sold} sold, but confirmed orders hold {confirmed}"
                + (f" ({orders})" if orders else "")
            )
        if level.reserved != held[sku]:
            check.problems.append(
                f"{sku}: {level.reserved} reserved, but reservations still held hold {held[sku]}"
            )
    units = sum(level.total for level in ledger.stock.values())
    check.summary = (
        f"{len(ledger.stock)} skus, {units} units; {sum(sum(s.values()) for s in sold_to.values())}"
        f" sold to confirmed orders, {sum(held.values())} held"
    )
    return check


def stock_per_order(ledger: Ledger) -> Check:
    check = Check("stock_per_order", "stock settled once per order")
    settled = Counter()
    for order in ledger.orders.values():
        reservation = ledger.reservations.get(order.id)
        if order.status == CONFIRMED:
            if reservation is None:
                check.problems.append(f"{order.id} confirmed, but no stock was ever reserved")
            elif reservation.statuses != {COMMITTED}:
                check.problems.append(
                    f"{order.id} confirmed, but its reservation is {reservation.status}"
                )
            elif reservation.lines != order.lines:
                check.problems.append(
                    f"{order.id} confirmed with {_lines(order.lines)}, "
                    f"but sold {_lines(reservation.lines)}"
                )
            else:
                settled["sold"] += 1
        elif order.status == REJECTED:
            if reservation is not None and not reservation.statuses <= NEVER_HELD_OR_GIVEN_BACK:
                check.problems.append(
                    f"{order.id} rejected ({order.reason}), but its reservation is "
                    f"{reservation.status} ({_lines(reservation.lines)})"
                )
            else:
                settled["given back or never held"] += 1
    for order_id, reservation in sorted(ledger.reservations.items()):
        if order_id not in ledger.orders and reservation.statuses & {HELD, COMMITTED}:
            check.problems.append(
                f"{order_id}: no such order, yet its reservation is {reservation.status} "
                f"({_lines(reservation.lines)})"
            )
    check.summary = ", ".join(f"{n} {what}" for what, n in sorted(settled.items())) or "no order"
    return check


def _money(cents: int) -> str:
    return f"{cents / 100:,.2f}"


def payments_per_order(ledger: Ledger) -> Check:
    check = Check("payments", "captures equal confirmed totals, nothing captured if rejected")
    for order in ledger.orders.values():
        captured = [c for c in ledger.charges.get(order.id, []) if c.status == CAPTURED]
        if order.status == CONFIRMED:
            if len(captured) != 1:
                check.problems.append(
                    f"{order.id} confirmed with {len(captured)} captured charges (wanted 1)"
                )
            elif captured[0].amount_cents != order.total_cents:
                check.problems.append(
                    f"{order.id} confirmed for {_money(order.total_cents)}, but "
                    f"{_money(captured[0].amount_cents)} captured ({captured[0].id})"
                )
        elif captured:
            check.problems.append(
                f"{order.id} {order.status} ({order.reason}), yet "
                f"{_money(sum(c.amount_cents for c in captured))} captured "
                f"({', '.join(c.id for c in captured)})"
            )
    for order_id, found in sorted(ledger.charges.items()):
        captured = [c for c in found if c.status == CAPTURED]
        if order_id not in ledger.orders and captured:
            check.problems.append(
                f"{order_id}: no such order, yet {_money(captured[0].amount_cents)} captured"
            )
    all_captured = sum(
        c.amount_cents for found in ledger.charges.values() for c in found if c.status == CAPTURED
    )
    confirmed = sum(o.total_cents for o in ledger.orders.values() if o.status == CONFIRMED)
    if all_captured != confirmed and not check.problems:
        check.problems.append(f"captured {_money(all_captured)} != confirmed {_money(confirmed)}")
    check.summary = f"captured {_money(all_captured)}, confirmed totals {_money(confirmed)}"
    return check


def notifications_per_order(ledger: Ledger) -> Check:
    check = Check("notifications", "exactly one notification per final order")
    told = 0
    for order in ledger.orders.values():
        kinds = ledger.messages.get(order.id, [])
        if order.status == PENDING:
            if kinds:
                check.problems.append(f"{order.id} pending, yet told {', '.join(kinds)}")
            continue
        wanted = MESSAGE_FOR.get(order.status)
        if not kinds:
            check.problems.append(f"{order.id} {order.status}: no message")
        elif len(kinds) > 1:
            check.problems.append(f"{order.id} {order.status}: {len(kinds)} messages {kinds}")
        elif kinds[0] != wanted:
            check.problems.append(f"{order.id} {order.status}, but told {kinds[0]}")
        else:
            told += 1
    for order_id, kinds in sorted(ledger.messages.items()):
        if order_id not in ledger.orders:
            check.problems.append(f"{order_id}: no such order, yet told {', '.join(kinds)}")
    final = sum(1 for o in ledger.orders.values() if _final(o))
    check.summary = f"{told} of {final} final orders told once, of their outcome"
    return check


def pending_charges(ledger: Ledger) -> list[str]:
    """Charges still open for final orders: no money moved, but worth a look."""
    return [
        f"charge {c.id} of {order_id} ({ledger.orders[order_id].status}) left pending"
        for order_id, found in sorted(ledger.charges.items())
        for c in found
        if c.status == OPEN and order_id in ledger.orders and _final(ledger.orders[order_id])
    ]


@dataclass
class Reconciliation:
    """The verdict of one run: the checks, the dead letters and notes, as text and JSON."""

    stage: str
    where: str  # which databases were read
    read_at: datetime
    checks: list[Check]
    dead_letters: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.passed]

    def text(self) -> str:
        out = [
            f"reconciliation of the {self.stage} stage, read from {self.where}",
            f"at {self.read_at.isoformat(timespec='seconds')}",
            "",
        ]
        for check in self.checks:
            out.append(f"{'PASS' if check.passed else 'FAIL'}  {check.title}: {check.summary}")
            out += [f"        {problem}" for problem in check.problems[:SHOWN]]
            if len(check.problems) > SHOWN:
                out.append(
                    f"        ... and {len(check.problems) - SHOWN} more (reconciliation.json)"
                )
        out.append("")
        out.append(f"dead letters: {len(self.dead_letters)}")
        out += [f"        {describe_dead_letter(letter)}" for letter in self.dead_letters[:SHOWN]]
        if self.notes:
            out.append("notes:")
            out += [f"        {note}" for note in self.notes]
        out.append("")
        failed = self.failed()
        out.append(
            "RESULT: PASS, every check held"
            if not failed
            else f"RESULT: FAIL, {len(failed)} of {len(self.checks)} checks failed: "
            + ", ".join(check.title for check in failed)
        )
        return "\n".join(out) + "\n"

    def as_dict(self) -> dict:
        return {
            "stage": self.stage,
            "where": self.where,
            "read_at": self.read_at.isoformat(),
            "passed": self.passed,
            "checks": [
                {
                    "key": c.key,
                    "title": c.title,
                    "passed": c.passed,
                    "summary": c.summary,
                    "problems": c.problems,
                }
                for c in self.checks
            ],
            "dead_letters": self.dead_letters,
            "notes": self.notes,
        }

    def json(self) -> str:
        return json.dumps(self.as_dict(), indent=2) + "\n"


def describe_dead_letter(letter: Mapping) -> str:
    event = letter.get("event") or {}
    return (
        f"{letter.get('at', '?')} trigger={letter.get('trigger')} type={event.get('type')} "
        f"subject={event.get('subject')} attempts={letter.get('attempts')} "
        f"code={letter.get('code')} error={letter.get('error')}"
    )


def reconcile(
    stage: str,
    where: str,
    ledger: Ledger,
    initial: Mapping[str, int],
    restocks: Mapping[str, int] | None = None,
    dead_letters: list[dict] | None = None,
) -> Reconciliation:
    """Every check over one ledger; `initial` is each sku's stock before the run."""
    checks = [
        orders_final(ledger),
        stock_per_sku(ledger, initial, restocks),
        stock_per_order(ledger),
        payments_per_order(ledger),
        notifications_per_order(ledger),
    ]
    return Reconciliation(
        stage, where, ledger.read_at, checks, dead_letters or [], pending_charges(ledger)
    )


def outstanding(ledger: Ledger) -> dict[str, int]:
    """What a quiet stage still has to finish: pending orders, and follow-ups of final
    orders (a reservation still held, a customer not told yet). All zero: settled."""
    final = {oid for oid, order in ledger.orders.items() if _final(order)}
    return {
        "pending orders": sum(1 for o in ledger.orders.values() if o.status == PENDING),
        "held for final orders": sum(
            1 for oid in final if HELD in getattr(ledger.reservations.get(oid), "statuses", ())
        ),
        "final orders not told": sum(1 for oid in final if not ledger.messages.get(oid)),
    }


def oldest_pending(ledger: Ledger, now: datetime) -> float | None:
    ages = [
        (now - o.created_at).total_seconds() for o in ledger.orders.values() if o.status == PENDING
    ]
    return max(ages) if ages else None
