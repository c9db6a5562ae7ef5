from django.urls import path

from apps.agencies.api import views

urlpatterns = [
    path("agencies/", views.AgencyListApi.as_view(), name="api-agencies"),
    path("agencies/<uuid:public_id>/", views.AgencyDetailApi.as_view(), name="api-agency"),
    path("agencies/<uuid:public_id>/members/", views.MembershipListApi.as_view(), name="api-agency-members"),
]
