from django.urls import path

from blipay.urls import handler404, handler500
from blipay.urls import urlpatterns as blipay_urlpatterns
from tests.eventsink.views import ping

urlpatterns = [*blipay_urlpatterns, path("test/ping", ping)]

__all__ = ["handler404", "handler500", "urlpatterns"]
