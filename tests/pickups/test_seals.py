"""A seal made from a template (`digester`, the assignment's way of sealing thousands of events) is the seal
`event_digest` makes of the same event: a difference would break every chain it touched."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pickups.custody import digester, event_digest
from pickups.ledger import Entry

# JSON details as the ledger may hold them, keys that mimic the sealed fields included ("order", "prev_hash").
_keys = st.sampled_from(["order", "prev_hash", "window", "site", "type", "z"]) | st.text(max_size=8)
_details = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=10,
).map(lambda value: value if isinstance(value, dict) else {"value": value})
_seal = st.just("") | st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)

entries = st.builds(
    Entry,
    order_id=st.integers(1, 2**62),
    merchant_id=st.integers(1, 10),
    type=st.sampled_from(["order.scheduled", "order.picked_up"]) | st.text(max_size=20),
    occurred_at=st.datetimes(timezones=st.just(UTC)),
    actor_label=st.text(max_size=30),
    from_status=st.sampled_from(["ready", "scheduled"]),
    to_status=st.sampled_from(["scheduled", "picked_up"]),
    details=_details,
)


@example(  # details holding what the template looks for: the template must be cut at the event's own fields
    entry=Entry(
        7,
        1,
        "order.scheduled",
        datetime(2027, 1, 4, 15, tzinfo=UTC),
        "system",
        "ready",
        "scheduled",
        {"copy": {"order": 0, "prev_hash": ""}},
    ),
    others=[(8, "")],
    prev_hash="",
)
@given(entry=entries, others=st.lists(st.tuples(st.integers(1, 2**62), _seal), max_size=5), prev_hash=_seal)
def test_a_template_seals_every_order_as_event_digest_does(entry, others, prev_hash):
    digest = digester(entry)
    for order_id, previous in [(entry.order_id, prev_hash), *others]:
        assert digest(order_id, previous) == event_digest(replace(entry, order_id=order_id), previous)


HOSTILE = 'Tab\there, a new\nline, a return\r, a back\\slash, \\N, "quotes" and café ☕'


@pytest.mark.django_db
def test_entries_are_written_as_they_were_sealed_whatever_their_text(store):
    from common.actors import Actor
    from pickups.custody import chains_verify
    from pickups.ledger import entries_append
    from pickups.models import Order, OrderEvent
    from tests.factories import UserFactory, make_orders

    orders = make_orders(store, 3)
    actor = Actor(user=UserFactory(), label=HOSTILE)
    at = datetime(2027, 1, 4, 15, 0, 0, 123456, tzinfo=UTC)
    shared = {"site": HOSTILE, "window": 7, "nested": {"list": [1, None, "\\"]}}

    def noted(order, details):
        return Entry(order.pk, order.merchant_id, "order.noted", at, actor.label, "created", "created", details)

    # two alike but for their order, one of its own, and a second for the first order, chained onto the first
    entries = [noted(orders[0], shared), noted(orders[1], shared), noted(orders[2], {"own": HOSTILE})]
    entries.append(noted(orders[0], {"again": HOSTILE}))

    entries_append(entries, actor=actor)

    written = OrderEvent.objects.filter(type="order.noted").order_by("pk")
    assert [(e.order_id, e.actor_label, e.actor_id, e.details, e.occurred_at, e.hash) for e in written] == [
        (entry.order_id, HOSTILE, actor.user.pk, entry.details, at, entry.hash) for entry in entries
    ]
    assert written[0].latitude is None and written[0].prev_hash != ""  # chained to the order's created event
    assert not [check for check in chains_verify(Order.objects.all()) if check.broken]
