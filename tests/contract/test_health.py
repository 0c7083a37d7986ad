"""Every stage answers /healthz and /readyz at its public URL."""


def test_healthz(shop):
    answer = shop.get("/healthz")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"


def test_readyz(shop):
    answer = shop.get("/readyz")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"
