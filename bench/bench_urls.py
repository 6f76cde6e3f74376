"""kefu's URLs plus /bench/bare-insert: a bare Django view doing one INSERT (the ceiling)."""

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from kefu.urls import urlpatterns as kefu_urlpatterns


@csrf_exempt
def bare_insert(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cur:
        cur.execute("INSERT INTO bench_bare (created_at, body) VALUES (now(), %s) RETURNING id", [request.body.decode()])
        (new_id,) = cur.fetchone()
    return JsonResponse({"id": new_id}, status=201)


urlpatterns = [*kefu_urlpatterns, path("bench/bare-insert", bare_insert)]
