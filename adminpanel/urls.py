from django.urls import path

from . import panels, views

app_name = "adminpanel"

urlpatterns = [
    *(
        path(
            "" if page == "overview" else f"{page}/",
            views.range_page,
            {"page": page},
            name=page,
        )
        for page in panels.PANELS
    ),
    path("realtime/", views.realtime, name="realtime"),
    path("realtime/live/", views.realtime_partial, name="realtime_partial"),
    path("orders/<str:number>/", views.order, name="order"),
    path("orders/<str:number>/refund/", views.order_refund, name="order_refund"),
    path("data/", views.data, name="data"),
    path("data/jobs/<slug:name>/<slug:action>/", views.job_action, name="job_action"),
]
