class TransitionError(Exception):
    """A state change the current state does not allow; the API answers 409, the portal a message."""


class NotAllowedError(Exception):
    """The caller may not do this now (e.g. a merchant not yet approved); the API answers 403."""


class TooManyAttemptsError(Exception):
    """Too many wrong tries of a secret (a store code) in a short while; the API answers 429."""
