from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from .models import Driver
from .selectors import driver_for_user


def driver_required(view):
    """Logged in as an active driver; sets `request.driver`."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        driver = driver_for_user(request.user)
        if driver is None:
            raise PermissionDenied("This login is not a driver's.")
        if driver.status != Driver.Status.ACTIVE:
            raise PermissionDenied(f"Your driver account is {driver.get_status_display().lower()}.")
        request.driver = driver
        return view(request, *args, **kwargs)

    return wrapper
