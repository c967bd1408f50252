"""Learning-rate schedules are pure functions of the step, fixed by the config for the run's whole length."""

from __future__ import annotations

import pytest

from deblur_cli.train.schedule import lr_factor


def test_cosine_warms_up_then_falls_to_its_floor_at_the_horizon():
    f = [lr_factor(s, 1000, "cosine", warmup=100, floor=0.02) for s in range(1001)]
    assert f[0] == pytest.approx(0.01) and f[99] == pytest.approx(1.0)
    assert all(a <= b for a, b in zip(f[:100], f[1:100]))  # warm-up rises
    assert all(a >= b for a, b in zip(f[100:], f[101:]))  # then never rises again
    assert f[550] == pytest.approx(0.51, abs=1e-3)  # half-way down the cosine: (1 + floor) / 2
    assert f[1000] == pytest.approx(0.02) and lr_factor(5000, 1000, "cosine", floor=0.02) == pytest.approx(0.02)


def test_warmup_applies_to_every_schedule_and_unknown_ones_are_refused():
    assert lr_factor(9, 100, "constant", warmup=20) == pytest.approx(0.5)
    assert lr_factor(30, 100, "constant", warmup=20) == 1.0
    assert lr_factor(75, 100, "linear_decay") == pytest.approx(0.5)
    with pytest.raises(ValueError, match="unknown schedule"):
        lr_factor(0, 100, "step")


def test_a_config_names_a_known_schedule_and_a_sane_floor(tmp_path):
    from deblur_cli.train.config import ConfigError, load_config

    def config(optim: str):
        path = tmp_path / "c.toml"
        path.write_text(f'[model]\nvariant = "bag-compact"\n[data]\nkind = "noise"\n[[losses]]\ntype = "l1"\n[optim]\n{optim}\n')
        return load_config(path)

    assert config('schedule = "cosine"\nwarmup = 10\nfloor = 0.1').optim.floor == 0.1
    for bad, message in (('schedule = "step"', "schedule"), ('schedule = "cosine"\nfloor = 2.0', "floor"),
                         ("warmup = -1", "warmup")):
        with pytest.raises(ConfigError, match=message):
            config(bad)
