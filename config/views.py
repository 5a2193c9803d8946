from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect

from deliveries.selectors import driver_for_user


def healthz(request):
    """For load balancers: the process answers and its database does too."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@login_required
def home(request):
    """Where a login lands: drivers on their offers, program staff in the admin, merchants on their dashboard."""
    if driver_for_user(request.user) is not None:
        return redirect("driver_home")
    if request.user.is_staff:
        return redirect("admin:index")
    return redirect("dashboard")
