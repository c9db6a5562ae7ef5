from django.urls import path

from apps.splits import views

app_name = "splits"

urlpatterns = [
    path("simulator/", views.simulator, name="simulator"),
    # The published documents (docs/*.md): the algorithm every split follows, and the statement format.
    path("docs/<slug:name>/", views.document, name="docs"),
    path("docs/<slug:name>.md", views.document_source, name="docs-source"),
]
