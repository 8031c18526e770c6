"""Learning-rate schedules: callables from the step count to a rate.

`step` is the number of updates already done (0 for the first update, as in
optax), so `schedule(0)` is the rate of the first step. Every optimizer in
`adgen.runtime.optimizers` takes a float or one of these as `learning_rate`.

Example:
    >>> s = exponential_decay(0.1, decay_rate=0.5, decay_steps=10)
    >>> s(0), s(10), s(20)
    (0.1, 0.05, 0.025)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Union

Schedule = Callable[[int], float]
LearningRate = Union[float, Schedule]


def as_schedule(learning_rate: LearningRate) -> Schedule:
    """A schedule for `learning_rate`: callables are kept, numbers become `constant`.

    >>> as_schedule(0.5)(1000)
    0.5
    """
    return learning_rate if callable(learning_rate) else constant(learning_rate)


@dataclass(frozen=True)
class constant:
    """rate(step) = value.

    >>> constant(0.1)(7)
    0.1
    """
    value: float

    def __call__(self, step: int) -> float:
        return float(self.value)


@dataclass(frozen=True)
class exponential_decay:
    """rate(step) = init * decay_rate ** (step / decay_steps); with `staircase` the
    exponent is floor(step / decay_steps).

    >>> exponential_decay(1.0, 0.5, 2)(3), exponential_decay(1.0, 0.5, 2, staircase=True)(3)
    (0.3535533905932738, 0.5)
    """
    init: float
    decay_rate: float
    decay_steps: int
    staircase: bool = False

    def __call__(self, step: int) -> float:
        p = step // self.decay_steps if self.staircase else step / self.decay_steps
        return self.init * self.decay_rate ** p


@dataclass(frozen=True)
class step_decay:
    """rate(step) = init * factor ** (step // every): drops by `factor` every `every`
    steps (Keras' step decay; `exponential_decay(..., staircase=True)` in another form).

    >>> [step_decay(1.0, 0.1, 2)(s) for s in range(5)]
    [1.0, 1.0, 0.1, 0.1, 0.010000000000000002]
    """
    init: float
    factor: float
    every: int

    def __call__(self, step: int) -> float:
        return self.init * self.factor ** (step // self.every)


@dataclass(frozen=True)
class inverse_time_decay:
    """rate(step) = init / (1 + decay_rate * step / decay_steps): the 1/t rate of the
    Robbins-Monro conditions (sum of rates infinite, sum of squares finite).

    >>> inverse_time_decay(1.0, 1.0)(3)
    0.25
    """
    init: float
    decay_rate: float
    decay_steps: int = 1

    def __call__(self, step: int) -> float:
        return self.init / (1.0 + self.decay_rate * step / self.decay_steps)


@dataclass(frozen=True)
class cosine_decay:
    """rate(step) = init * ((1 - alpha) * (1 + cos(pi * t)) / 2 + alpha) with
    t = min(step, decay_steps) / decay_steps (Loshchilov & Hutter 2017, without
    restarts): from `init` down to `alpha * init`, then constant.

    >>> cosine_decay(1.0, 10)(0), cosine_decay(1.0, 10)(5), cosine_decay(1.0, 10)(99)
    (1.0, 0.5, 0.0)
    """
    init: float
    decay_steps: int
    alpha: float = 0.0

    def __call__(self, step: int) -> float:
        t = min(step, self.decay_steps) / self.decay_steps
        return self.init * ((1.0 - self.alpha) * 0.5 * (1.0 + math.cos(math.pi * t)) + self.alpha)


@dataclass(frozen=True)
class warmup_cosine:
    """Linear warm-up from `init` to `peak` over `warmup_steps`, then a cosine decay from
    `peak` to `end` reached at `decay_steps` (which counts the warm-up, as in optax's
    warmup_cosine_decay_schedule); `end` afterwards.

    >>> s = warmup_cosine(peak=1.0, warmup_steps=4, decay_steps=8)
    >>> [round(s(k), 4) for k in range(0, 10, 2)]
    [0.0, 0.5, 1.0, 0.5, 0.0]
    """
    peak: float
    warmup_steps: int
    decay_steps: int
    init: float = 0.0
    end: float = 0.0

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.init + (self.peak - self.init) * step / self.warmup_steps
        span = self.decay_steps - self.warmup_steps
        t = min(step - self.warmup_steps, span) / span if span > 0 else 1.0
        return self.end + (self.peak - self.end) * 0.5 * (1.0 + math.cos(math.pi * t))
