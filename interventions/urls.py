app_name = "interventions"
urlpatterns: list = []
