from django.urls import path

from . import views

urlpatterns = [
    path("", views.driver_home, name="driver_home"),
    path("offers/<int:pk>/accept/", views.offer_accept, name="driver_offer_accept"),
    path("offers/<int:pk>/decline/", views.offer_decline, name="driver_offer_decline"),
    path("windows/<int:pk>/", views.driver_window, name="driver_window"),
    path("windows/<int:pk>/arrive/", views.window_arrive, name="driver_window_arrive"),
    path("windows/<int:pk>/pickup/", views.window_pickup, name="driver_window_pickup"),
    path("windows/<int:pk>/depart/", views.window_depart, name="driver_window_depart"),
    path("windows/<int:pk>/release/", views.window_release, name="driver_window_release"),
    path("run/", views.driver_run, name="driver_run"),
    path("orders/<int:pk>/deliver/", views.order_deliver, name="driver_order_deliver"),
    path("orders/<int:pk>/fail/", views.order_fail, name="driver_order_fail"),
    path("returns/", views.driver_returns, name="driver_returns"),
]
