"""A cached property without a lock.

``functools.cached_property`` in Python 3.11 takes one lock per class
attribute, shared by every instance: the engine's worker threads, each
hashing a different object's spec, queue on it one behind the other (a 10k
apply spent most of its worker time there). The values cached here are pure
functions of immutable objects, so two threads computing the same one at once
is harmless: both get equal values and the last write wins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class cached(Generic[T]):  # lower case: a decorator, like functools.cached_property
    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> cached[T]: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> T: ...
    def __get__(self, instance: object | None, owner: type | None = None) -> T | cached[T]:
        if instance is None:
            return self
        value = self.func(instance)
        # a non-data descriptor: once the instance's own dict holds the value, lookups never come here
        instance.__dict__[self.name] = value
        return value
