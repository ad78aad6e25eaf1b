"""A test-only URLconf: the project's routes plus one personal-data page."""

from django.http import HttpResponse
from django.urls import path

from config.urls import urlpatterns as project_urlpatterns
from privacy.decorators import personal_data


@personal_data
def person_page(request):
    return HttpResponse("a person's record")


urlpatterns = [*project_urlpatterns, path("test-person/", person_page, name="test-person")]
