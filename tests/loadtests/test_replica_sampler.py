"""The replica sampler against recorded Kubernetes API answers, through the real client.

The recorded answers (fixtures/kubernetes/*.json, three in turn per list
call) are those of a functions namespace while a load test ran: the gateway
Deployment and its HPA scaling 1 -> 2, the catalog-read Revision scaling from
zero to three and back to one, place-order scaling from one to zero, and the
Deployment Knative made for catalog-read (which must not be counted twice).
"""

from __future__ import annotations

import time

import pytest
from kubernetes import client

from loadtests import replicas
from tests.loadtests.recorded_kubernetes import NAMESPACE, api_paths, recorded, write_kubeconfig

TIMES = [1000.0, 1005.0, 1012.0]  # when the three samples are taken
END = 1020.0  # when the load test ended


def _client(url: str) -> client.ApiClient:
    configuration = client.Configuration()
    configuration.host = url
    return client.ApiClient(configuration)


def _all_recorded() -> dict[str, list[dict]]:
    return {path: recorded(name) for name, path in api_paths().items()}


def _sampled(api, times: list[float]) -> list[replicas.Sample]:
    clock = iter(times)
    with _client(api.url) as api_client:
        sampler = replicas.ReplicaSampler(NAMESPACE, api_client, clock=lambda: next(clock))
        return [row for _ in times for row in sampler.sample()]


def test_each_sample_has_the_ready_replicas_and_cpu_request_of_every_workload(kubernetes_api):
    api = kubernetes_api(_all_recorded())
    samples = _sampled(api, TIMES)

    seen = {(s.time, s.kind, s.name): s for s in samples}
    assert len(seen) == len(samples) == 3 * 4  # gateway, two revisions, one HPA, three times
    workloads = {(kind, name) for _, kind, name in seen}
    ready = {(kind, name): [seen[(t, kind, name)].ready for t in TIMES] for kind, name in workloads}
    assert ready == {
        ("Deployment", "gateway"): [1, 2, 2],
        ("Revision", "catalog-read-00001"): [0, 3, 1],
        ("Revision", "place-order-00001"): [1, 1, 0],
        ("HorizontalPodAutoscaler", "gateway"): [1, 1, 2],
    }
    hpa = [seen[(t, "HorizontalPodAutoscaler", "gateway")] for t in TIMES]
    assert [h.desired for h in hpa] == [1, 2, 2]
    assert {h.target for h in hpa} == {"gateway"}
    assert {h.cpu_request for h in hpa} == {None}
    # CPU requests from the pod specs: 200m; 100m and 250m plus Knative's queue-proxy (25m)
    assert seen[(TIMES[0], "Deployment", "gateway")].cpu_request == pytest.approx(0.2)
    assert seen[(TIMES[0], "Revision", "catalog-read-00001")].cpu_request == pytest.approx(0.125)
    assert seen[(TIMES[0], "Revision", "place-order-00001")].cpu_request == pytest.approx(0.275)
    assert not any("deployment" in s.name for s in samples)  # Knative's own Deployment
    assert sorted(api.asked) == sorted(path for _ in TIMES for path in api_paths().values())


def test_core_seconds_are_replicas_times_cpu_request_times_time(kubernetes_api, tmp_path):
    api = kubernetes_api(_all_recorded())
    writer = replicas.TimelineWriter(tmp_path / replicas.FILE_NAME)
    writer.write(_sampled(api, TIMES))
    writer.close()
    samples = replicas.read_csv(tmp_path / replicas.FILE_NAME)  # through the file, as stored

    # each sample holds until the next (5 s, then 7 s), the last until the end (8 s)
    gateway = 0.2 * (1 * 5 + 2 * 7 + 2 * 8)  # 7.0
    catalog = 0.125 * (0 * 5 + 3 * 7 + 1 * 8)  # 3.625
    place = 0.275 * (1 * 5 + 1 * 7 + 0 * 8)  # 3.3
    assert replicas.core_seconds_by_workload(samples, END) == pytest.approx(
        {
            "Deployment/gateway": gateway,
            "Revision/catalog-read-00001": catalog,
            "Revision/place-order-00001": place,
        }
    )
    assert replicas.core_seconds(samples, END) == pytest.approx(13.925)
    assert replicas.core_seconds(samples) == pytest.approx(13.925 - (0.4 + 0.125) * 8)
    assert replicas.total_ready(samples) == [(1000.0, 2), (1005.0, 6), (1012.0, 3)]


def test_a_cluster_without_knative_is_sampled_without_revisions(kubernetes_api):
    paths = api_paths()
    api = kubernetes_api(
        {
            paths["deployments"]: recorded("deployments"),
            paths["horizontalpodautoscalers"]: recorded("horizontalpodautoscalers"),
        }
    )
    samples = _sampled(api, TIMES[:2])
    assert {s.kind for s in samples} == {"Deployment", "HorizontalPodAutoscaler"}
    assert api.asked.count(paths["revisions"]) == 1  # a 404 once: then it asks no more


def test_the_sampling_thread_writes_the_timeline_while_the_test_runs(kubernetes_api, tmp_path):
    api = kubernetes_api(_all_recorded())
    with _client(api.url) as api_client:
        sampler = replicas.ReplicaSampler(NAMESPACE, api_client)
        path = tmp_path / replicas.FILE_NAME
        thread = replicas.SamplingThread(sampler, replicas.TimelineWriter(path), interval=0.05)
        thread.start()
        deadline = time.monotonic() + 10
        while len(api.asked) < 6 and time.monotonic() < deadline:  # two samples taken
            time.sleep(0.01)
        thread.stop()
    samples = replicas.read_csv(path)
    assert len({s.time for s in samples}) >= 3  # the two, and one more when stopped
    assert not thread.errors


def test_the_client_comes_from_the_kubeconfig(kubernetes_api, tmp_path, monkeypatch):
    api = kubernetes_api(_all_recorded())
    kubeconfig = write_kubeconfig(tmp_path / "config", api.url)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    with replicas.api_client() as api_client:
        samples = replicas.ReplicaSampler(NAMESPACE, api_client).sample()
    assert {s.kind for s in samples} == {"Deployment", "Revision", "HorizontalPodAutoscaler"}
