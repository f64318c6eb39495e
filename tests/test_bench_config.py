"""BenchConfig: bench's defaults in one place, values normalized and bad ones refused at construction."""

from __future__ import annotations

import pytest

from scotoma.bench import BenchConfig, PermuteConfig
from scotoma.engines import EngineConfig
from scotoma.types import GenConfig


def test_defaults_are_the_protocols_greedy_short_answers_and_the_cpu_world_run() -> None:
    config = BenchConfig()
    assert (config.benchmark, config.model, config.settings) == ("world", "builtin:answerer", ("IQ",))
    assert config.permute == PermuteConfig(False, False, 6)
    assert config.engine == EngineConfig()
    assert (config.batch_size, config.n_boot) == (64, 1000)
    assert config.gen == GenConfig(max_new_tokens=32, temperature=0.0, seed=0)


def test_gen_follows_chain_max_new_tokens_and_temperature() -> None:
    assert BenchConfig(chain=True).gen.max_new_tokens == 512
    assert BenchConfig(chain=True, max_new_tokens=100).gen.max_new_tokens == 100
    # the seed reaches the model only when it samples
    assert BenchConfig(seed=3).gen.seed == 0
    sampled = BenchConfig(seed=3, temperature=0.7).gen
    assert (sampled.temperature, sampled.seed, sampled.max_new_tokens) == (0.7, 3, 32)


def test_settings_permute_and_engine_are_normalized() -> None:
    config = BenchConfig(settings="iq, qo,IQ", permute="images", max_image_orders=None, engine="ray:actors=2")
    assert config.settings == ("IQ", "QO")
    assert config.permute == PermuteConfig(images=True, options=False, max_image_orders=None)
    assert config.engine == EngineConfig(kind="ray", actors=2)
    given = PermuteConfig(options=True)
    assert BenchConfig(settings=["QO"], permute=given).permute is given


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"settings": "IQ,XX"}, r"unknown input setting\(s\) \['XX'\]; use IQ, DQ, IDQ, QO"),
        ({"settings": ""}, "unknown input setting"),
        ({"settings": "IDQ"}, "DQ and IDQ need image descriptions: pass a captioner"),
        ({"permute": "colours"}, r"unknown permutation\(s\) \['colours'\]"),
        ({"batch_size": 0}, "batch_size must be at least 1, got 0"),
        ({"n_boot": -1}, "n_boot must be at least 0, got -1"),
        ({"limit": 0}, "limit must be at least 1, got 0"),
        ({"max_image_orders": 0}, "max_image_orders must be at least 1, got 0"),
        ({"max_new_tokens": 0}, "max_new_tokens must be at least 1, got 0"),
        ({"temperature": -0.5}, r"temperature must be at least 0 \(0 is greedy\), got -0.5"),
        ({"style": "fancy"}, "unknown prompt style 'fancy'; known: mmra-v1"),
        ({"engine": "spark"}, "spark"),
    ],
)
def test_bad_values_are_refused_in_one_line(values: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        BenchConfig(**values)
    assert "\n" not in str(raised.value)
