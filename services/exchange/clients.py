"""The Kafka clients the exchange and the monitor use, as they are passed around: each
is made by a factory the composition root hands down (services/backends/kafka.py), so
no module here builds one. kafka-python carries no types, so these name what a value
is rather than check it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Producer = Any  # a kafka-python producer
Consumer = Any  # a kafka-python consumer
Admin = Any  # a kafka-python admin client

MakeProducer = Callable[[], Producer]
MakeConsumer = Callable[[], Consumer]
MakeAdmin = Callable[[], Admin]
