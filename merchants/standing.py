"""What a merchant may do in each standing: the one table every service checks.

A merchant's standing is its status, except that a self-service signup whose owner has not yet
clicked the emailed link is `unconfirmed` and may do nothing at all. Pending merchants may look
around; approved ones may do everything; suspended ones keep their history and may wind down
what is already under way (cancel, hand a returned parcel to its customer) but start nothing new.
Parcels already picked up carry on to delivery: nothing here stops a driver.

Labels count as a read: they describe orders that exist, send no driver anywhere (flagging an
order ready does, and that is refused), and a suspended merchant may need them for a parcel
still in the store.
"""

from common.errors import NotAllowedError

from .models import Merchant

UNCONFIRMED = "unconfirmed"
PENDING = Merchant.Status.PENDING
APPROVED = Merchant.Status.APPROVED
SUSPENDED = Merchant.Status.SUSPENDED

# Actions, named as the services that check them do.
READ = "read"  # portal pages, labels, custody records, exports, reads through the API
ADD = "add"  # add or change a store; create orders by form, API or CSV import
READY = "ready"  # flag orders ready for pickup (a returned order sent out again too)
PICKUP = "pickup"  # have ready orders put into pickup windows (the assignment sweep checks it)
QUOTE = "quote"
CANCEL = "cancel"
COLLECTED = "collected"  # a returned order fetched by its customer in the store
API_KEY_CREATE = "api_key_create"
API_KEY_USE = "api_key_use"  # any request made with an API key
INVITE = "invite"
TEAM_JOIN = "team_join"  # accept an invitation
ACCESS_REMOVE = "access_remove"  # revoke an API key, remove a team member: taking access away
WEBHOOKS = "webhooks"  # add, change, test or resend webhooks: the portal posts to the merchant's URLs

EVERY = frozenset({PENDING, APPROVED, SUSPENDED})

# action: (what it is, in the merchant's words, the standings that may do it)
STANDING_RULES: dict[str, tuple[str, frozenset[str]]] = {
    READ: ("see your account", EVERY),
    ADD: ("add stores or orders", frozenset({APPROVED})),
    READY: ("flag orders ready for pickup", frozenset({APPROVED})),
    PICKUP: ("have orders picked up", frozenset({APPROVED})),
    QUOTE: ("ask for delivery quotes", frozenset({APPROVED})),
    CANCEL: ("cancel orders", frozenset({APPROVED, SUSPENDED})),
    COLLECTED: ("hand returned orders to customers", frozenset({APPROVED, SUSPENDED})),
    API_KEY_CREATE: ("create API keys", frozenset({APPROVED})),
    API_KEY_USE: ("use its API keys", frozenset({APPROVED})),
    INVITE: ("invite team members", frozenset({APPROVED})),
    TEAM_JOIN: ("join its team", frozenset({APPROVED})),
    ACCESS_REMOVE: ("revoke API keys or remove team members", EVERY),
    WEBHOOKS: ("set up or send webhooks", frozenset({APPROVED})),
}


def merchant_standing(merchant: Merchant) -> str:
    """unconfirmed, pending, approved or suspended."""
    if merchant.email_confirmed_at is None:
        return UNCONFIRMED
    return merchant.status


def merchant_refusal(merchant: Merchant, action: str) -> str:
    """Why the merchant may not do this now, in its words; empty if it may."""
    doing, allowed = STANDING_RULES[action]
    standing = merchant_standing(merchant)
    if standing in allowed:
        return ""
    if standing == UNCONFIRMED:
        return f"Confirm your email address first: open the link we sent to {merchant.contact_email}."
    if standing == PENDING:
        return f"This merchant account is waiting for approval by the program team, so you cannot {doing} yet."
    reason = f" Reason: {merchant.status_reason}" if merchant.status_reason else ""
    return f"This merchant account is suspended: you cannot {doing} until the program team reinstates it.{reason}"


def merchant_check(merchant: Merchant, action: str) -> None:
    """Raise NotAllowedError (403 in the API, a message in the portal) unless the merchant may do this."""
    refusal = merchant_refusal(merchant, action)
    if refusal:
        raise NotAllowedError(refusal)


def merchants_check(merchant_ids, action: str) -> None:
    """`merchant_check` for the merchants of a batch of orders, read fresh from the database in one query."""
    for merchant in Merchant.objects.filter(pk__in=set(merchant_ids)).order_by("pk"):
        merchant_check(merchant, action)
