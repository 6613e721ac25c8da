"""``[scale]``: optional, checked at load, environment variables win."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from stockwatch.config.scale import ScaleConfig


def test_the_default_install_needs_no_scale_setting() -> None:
    scale = ScaleConfig()
    assert scale.redis({}) == "" and scale.broker({}) == ""


def test_the_broker_defaults_to_redis_and_the_environment_wins() -> None:
    scale = ScaleConfig(redis_url="redis://10.0.0.5:6379/0")
    assert scale.broker({}) == "redis://10.0.0.5:6379/0"
    env = {"STOCKWATCH_BROKER_URL": "amqp://mq//", "STOCKWATCH_REDIS_URL": "redis://r2/1"}
    assert (scale.broker(env), scale.redis(env)) == ("amqp://mq//", "redis://r2/1")


@pytest.mark.parametrize(
    ("field", "value"), [("redis_url", "amqp://mq//"), ("broker_url", "http://x")]
)
def test_a_url_of_the_wrong_kind_is_a_config_error(field: str, value: str) -> None:
    with pytest.raises(ValidationError, match=field):
        ScaleConfig(**{field: value})


def test_the_broker_prefix_defaults_to_the_shops_key_prefix() -> None:
    assert ScaleConfig(key_prefix="shop-a").broker_key_prefix() == "shop-a"
    shared = ScaleConfig(key_prefix="shop-a", broker_prefix="acme")
    assert shared.broker_key_prefix() == "acme"
