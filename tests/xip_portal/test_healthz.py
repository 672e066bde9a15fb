import pytest
from django.test import Client, override_settings


@pytest.mark.django_db
def test_healthz_reports_every_service_when_all_run(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "chain"}
    assert all(check["ok"] for check in body["checks"].values())


@pytest.mark.django_db
@override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0")
def test_healthz_names_a_stopped_broker(client: Client) -> None:
    # Port 1 has no Redis: the same as a broker that is stopped.
    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker"]
    assert "redis://127.0.0.1:1/0 is not reachable" in body["checks"]["broker"]["detail"]
    assert body["checks"]["database"]["ok"] is True
