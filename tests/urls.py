from django.urls import path

from blipay.urls import handler400, handler404, handler500
from blipay.urls import urlpatterns as blipay_urlpatterns
from tests.eventsink.views import ping, say
from tests.strangler.views import monolith_echo

urlpatterns = [
    *blipay_urlpatterns,
    path("test/ping", ping),
    path("test/say", say),
    path("api/v1/echo/<str:what>", monolith_echo),
]

__all__ = ["handler400", "handler404", "handler500", "urlpatterns"]
