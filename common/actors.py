from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who did something, for the ledger: a login, an API key, a driver or the system itself."""

    user: object | None  # a User; typed loosely to avoid importing the model here
    label: str

    @classmethod
    def of_user(cls, user) -> "Actor":
        """A merchant's staff member or a program admin: their full name."""
        return cls(user=user, label=user.get_full_name() or user.email or user.username)

    @classmethod
    def of_driver(cls, user) -> "Actor":
        """A driver, by first name: merchants and customers learn no more of a driver anywhere (the
        window's driver, the ledger), as Driver.first_name."""
        return cls(user=user, label=user.first_name or user.username)


SYSTEM = Actor(user=None, label="Mall Pickup")
