from django.urls import path

from strangler.views import edge_identity

urlpatterns = [path("identity", edge_identity, name="strangler-edge-identity")]
