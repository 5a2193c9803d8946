from rest_framework.permissions import BasePermission

from deliveries.models import Driver
from deliveries.selectors import driver_for_user


class IsActiveDriver(BasePermission):
    """A logged-in driver (API token or session) whose account is active; sets `request.driver`."""

    message = "This login is not an active driver's."

    def has_permission(self, request, view):
        request.driver = driver_for_user(request.user)
        if request.driver is not None and request.driver.status != Driver.Status.ACTIVE:
            self.message = f"Your driver account is {request.driver.get_status_display().lower()}."
            return False
        return request.driver is not None
