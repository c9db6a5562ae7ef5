from django.urls import path

from apps.splits.api.views import SplitRuleSetSchemaApi, SplitSimulateApi

app_name = "splits-api"

urlpatterns = [
    path("simulate/", SplitSimulateApi.as_view(), name="simulate"),
    path("schema/", SplitRuleSetSchemaApi.as_view(), name="schema"),
]
