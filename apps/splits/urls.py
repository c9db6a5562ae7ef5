from django.urls import path

from apps.splits import views

app_name = "splits"

urlpatterns = [
    path("simulator/", views.simulator, name="simulator"),
]
