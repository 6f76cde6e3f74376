from django.apps import AppConfig


class InteractionsConfig(AppConfig):
    name = "kefu.interactions"
    label = "interactions"
