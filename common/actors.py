from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who did something, for the ledger: a login, an API key, a driver or the system itself."""

    user: object | None  # a User; typed loosely to avoid importing the model here
    label: str

    @classmethod
    def of_user(cls, user) -> "Actor":
        return cls(user=user, label=user.get_full_name() or user.email or user.username)


SYSTEM = Actor(user=None, label="Mall Pickup")
