from django.urls import path

from apps.income import views

app_name = "income"
urlpatterns = [
    path("", views.line_list, name="lines"),
    path("imports/", views.import_list, name="imports"),
    path("imports/<uuid:public_id>/", views.import_detail, name="import"),
    path("lines/<uuid:public_id>/", views.line_detail, name="line"),
    path("rates/", views.rate_list, name="rates"),
]
