from django.urls import path

from apps.disputes import views

app_name = "disputes"
urlpatterns = [
    path("", views.dispute_index, name="index"),
    path("mine/", views.dispute_mine, name="mine"),
    path("agency/", views.dispute_agency_list, name="agency"),
    path("open/line/<uuid:public_id>/", views.dispute_open_line, name="open_line"),
    # The statement page's "Open a dispute" link takes the statement's public id.
    path("open/statement/<uuid:public_id>/", views.dispute_open_statement, name="open_statement"),
    path("files/<uuid:public_id>/", views.dispute_attachment, name="attachment"),
    path("<uuid:public_id>/", views.dispute_detail, name="detail"),
    path("<uuid:public_id>/reply/", views.dispute_reply_view, name="reply"),
    path("<uuid:public_id>/answer/", views.dispute_answer_view, name="answer"),
    path("<uuid:public_id>/resolve/", views.dispute_resolve_view, name="resolve"),
    path("<uuid:public_id>/reject/", views.dispute_reject_view, name="reject"),
]
