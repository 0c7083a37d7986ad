"""The tracing cost benchmark's figures: each round's ratio to tracing off, then their median."""

from __future__ import annotations

from benchmarks.tracing_cost import Cost, Sample, costs


def test_each_ratio_is_the_median_of_the_rounds_ratios_to_tracing_off():
    def rounds(*pairs: tuple[float, float]) -> list[Sample]:
        return [Sample(rps, cpu_ms, 0) for rps, cpu_ms in pairs]

    samples = {
        "read": {
            "off": rounds((100, 1.0), (50, 2.0), (200, 1.0)),
            # a busy round halves every setting's req/s alike: its ratio stays
            "1.0": rounds((50, 1.5), (25, 3.0), (10, 9.0)),
            "0": rounds((100, 1.0), (50, 2.2), (200, 1.1)),
        },
        "order": {
            "off": rounds((10, 10.0)),
            "1.0": rounds((8, 12.0)),
            "0": rounds((10, 10.5)),
        },
    }
    found = {(c.path, c.setting): c for c in costs("monolith", samples)}

    assert found["read", "1.0"] == Cost("monolith", "read", "1.0", 0.5, 1.5)
    assert found["read", "0"].rps_ratio == 1.0
    assert round(found["read", "0"].cpu_ratio, 6) == 1.1
    assert found["order", "1.0"] == Cost("monolith", "order", "1.0", 0.8, 1.2)
    assert set(found) == {(p, s) for p in ("read", "order") for s in ("1.0", "0")}
