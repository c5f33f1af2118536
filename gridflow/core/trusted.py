"""Pydantic models built from values the engine computed itself, without validation.

``BaseModel.model_construct`` does the same, but on every call it walks each field's
aliases and defaults; the engine builds a model for every step of every case. The result
here is the instance ``model_construct(**values)`` returns when ``values`` names every
field: the same ``__dict__`` (in field order), fields set, extra and private state.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel

__all__ = ["TrustedBuilder"]

M = TypeVar("M", bound=BaseModel)

_set = object.__setattr__


class TrustedBuilder(Generic[M]):
    """Builds instances of one model from dicts holding every field, in field order."""

    __slots__ = ("_model", "_new")

    def __init__(self, model: type[M]) -> None:
        """Check that plain construction is what ``model_construct`` would do for ``model``.

        Raises ``TypeError`` for a model with field aliases, extra fields kept, a root
        model or a post-init hook: ``model_construct`` does more for those.
        """
        for name, info in model.model_fields.items():
            if info.alias is not None or info.validation_alias is not None:
                raise TypeError(f"{model.__name__}.{name} has an alias")
        if model.model_config.get("extra") == "allow":
            raise TypeError(f"{model.__name__} keeps extra fields")
        if model.__pydantic_root_model__ or model.__pydantic_post_init__:
            raise TypeError(f"{model.__name__} is a root model or has a post-init hook")
        self._model = model
        self._new = model.__new__

    def __call__(self, values: dict[str, Any]) -> M:
        """A ``model`` instance holding ``values`` (every field, in field order) as is."""
        instance = self._new(self._model)
        _set(instance, "__dict__", values)
        _set(instance, "__pydantic_fields_set__", set(values))
        _set(instance, "__pydantic_extra__", None)
        _set(instance, "__pydantic_private__", None)
        return instance
