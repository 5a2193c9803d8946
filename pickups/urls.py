from django.urls import path

from . import views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/stores/<int:pk>/orders.svg", views.dashboard_chart, name="dashboard_chart"),
    path("dashboard/performance.csv", views.dashboard_export, name="dashboard_export"),
    path("pickups/", views.pickup_schedule, name="pickup_schedule"),
    path("stores/<int:pk>/handoff/", views.store_handoff, name="store_handoff"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/new/", views.order_create, name="order_create"),
    path("orders/bulk/", views.orders_bulk, name="orders_bulk"),
    path("orders/bulk/<int:pk>/", views.bulk_action_detail, name="bulk_action_detail"),
    path("orders/bulk/<int:pk>/labels.pdf", views.bulk_action_labels, name="bulk_action_labels"),
    path("orders/export.csv", views.order_export, name="order_export"),
    path("orders/import/", views.order_import, name="order_import"),
    path("orders/import/template.csv", views.order_import_template, name="order_import_template"),
    path("orders/import/<int:pk>/", views.order_import_detail, name="order_import_detail"),
    path("orders/<int:pk>/", views.order_detail, name="order_detail"),
    path("orders/<int:pk>/status/", views.order_status_fragment, name="order_status_fragment"),
    path("orders/<int:pk>/edit/", views.order_edit, name="order_edit"),
    path("orders/<int:pk>/ready/", views.order_ready, name="order_ready"),
    path("orders/<int:pk>/cancel/", views.order_cancel, name="order_cancel"),
    path("orders/<int:pk>/collected/", views.order_collected, name="order_collected"),
    path("orders/<int:pk>/proof/<int:event_pk>.jpg", views.order_proof_photo, name="order_proof_photo"),
    path("orders/<int:pk>/labels.pdf", views.order_labels, name="order_labels"),
    path("orders/<int:pk>/custody.pdf", views.order_custody_pdf, name="order_custody_pdf"),
    path("orders/<int:pk>/custody.csv", views.order_custody_csv, name="order_custody_csv"),
    path("track/<str:tracking_code>/", views.tracking, name="tracking"),
    path("track/<str:tracking_code>/stop/", views.tracking_stop, name="tracking_stop"),
]
