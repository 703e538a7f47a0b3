"""key=value overrides parsed against the annotations, validated, with one-line errors."""
import json
from dataclasses import dataclass
from typing import Literal, Optional

import pytest

from genlab.config import Config, check, parse_value
from genlab.errors import GenlabError


@dataclass(frozen=True)
class Demo(Config):
    steps: int = 100
    lr: float = 1e-3
    noisy: bool = False
    widths: tuple[int, ...] = (1, 20, 1)
    pair: tuple[int, float] = (1, 0.5)
    optimizer: Literal["adam", "gd"] = "adam"
    order: Literal[1, 2] = 1
    init_std: Optional[float] = None
    target: float | None = 1.0
    name: str = "x"
    grid: tuple[tuple[int, ...], ...] = ((1, 2), (3,))
    maybe: Optional[tuple[float, ...]] = None

    def validate(self):
        super().validate()
        check(self.steps > 0, f"steps={self.steps} must be positive")
        check(self.lr > 0, f"lr={self.lr} must be positive")


def test_overrides_parse_every_annotated_type():
    c = Demo().override(["steps=250", "lr=3e-4", "noisy=true", "widths=(1,64,64,1)", "pair=2,1.5",
                         "optimizer=gd", "order=2", "init_std=0.5", "target=none", "name=abc", "seed=7"])
    assert c == Demo(steps=250, lr=3e-4, noisy=True, widths=(1, 64, 64, 1), pair=(2, 1.5), optimizer="gd",
                     order=2, init_std=0.5, target=None, name="abc", seed=7)
    assert isinstance(c.order, int) and isinstance(c.pair[1], float)
    assert Demo().override(["noisy=0", "widths=[3]", "init_std=None"]) == Demo(widths=(3,))
    assert Demo(init_std=0.5).override(["init_std=none"]).init_std is None


def test_round_trip_through_json_dict():
    c = Demo(widths=(1, 5, 1), pair=(3, 0.25), init_std=2.0, maybe=(0.5, 1.0))
    assert Demo.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    assert Demo.from_dict(c.to_dict()).grid == ((1, 2), (3,))
    assert c.to_dict()["widths"] == [1, 5, 1]


@pytest.mark.parametrize("pairs,needle", [
    (["stpes=5"], "unknown config key 'stpes' for Demo; valid keys: seed, steps, lr"),
    (["steps=abc"], "steps='abc' is not an integer"),
    (["steps=1.5"], "not an integer"),
    (["lr=fast"], "lr='fast' is not a number"),
    (["noisy=maybe"], "not a boolean; use true or false"),
    (["optimizer=sgd"], "choose one of: adam, gd"),
    (["pair=1"], "needs 2 comma-separated values"),
    (["widths=1,x"], "is not an integer"),
    (["steps"], "not of the form key=value"),
    (["steps=0"], "steps=0 must be positive"),
    (["lr=-1"], "lr=-1.0 must be positive"),
    (["seed=-3"], "seed=-3 is outside [0, 2**32)"),
])
def test_bad_overrides_are_one_line_errors(pairs, needle):
    with pytest.raises(GenlabError) as e:
        Demo().override(pairs)
    msg = str(e.value)
    assert needle in msg and "\n" not in msg


def test_parse_value_optional_tries_each_member():
    assert parse_value("3", Optional[int], "k") == 3
    assert parse_value("", Optional[int], "k") is None
    with pytest.raises(GenlabError, match="k='x' is not an integer"):
        parse_value("x", Optional[int], "k")
