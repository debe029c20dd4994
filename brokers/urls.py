from django.urls import path

from brokers import api

urlpatterns = [
    path("broker", api.account_list, name="broker-list"),
    path("broker/connect", api.connect, name="broker-connect"),
    path("broker/<uuid:account_id>", api.account_delete, name="broker-delete"),
]
