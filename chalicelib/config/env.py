"""The one environment parser. Every setting of ips is an environment
variable read through these functions, with one failure rule: a malformed
value raises SettingError (a ValueError) whose message starts with the
variable's name, so a bad deployment fails at start-up, naming what to fix,
never a customer's request. A missing or blank variable takes its default."""

from __future__ import annotations

from collections.abc import Mapping

Env = Mapping[str, str]
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


class SettingError(ValueError):
    """A malformed setting; the message names the variable."""


def text(env: Env, name: str, default: str = "") -> str:
    return env.get(name, "").strip() or default


def items(env: Env, name: str) -> tuple[str, ...]:
    """A comma-separated list, blanks dropped."""
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


def number(env: Env, name: str, default: float, low: float = 0.0, high: float = 100.0) -> float:
    value = optional_number(env, name, low, high)
    return default if value is None else value


def optional_number(
    env: Env, name: str, low: float = 0.0, high: float = 100.0, positive: bool = False
) -> float | None:
    """A number in [low, high] (nan refused), or None when unset. `positive`
    also refuses `low` itself."""
    raw = text(env, name)
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise SettingError(f"{name} must be a number, not {raw!r}") from None
    if not low <= value <= high:  # also refuses nan
        raise SettingError(f"{name} must be between {low:g} and {high:g}")
    if positive and value == low:
        raise SettingError(f"{name} must be more than {low:g}")
    return value


def whole(env: Env, name: str, default: int, low: int = 0, high: int = 2**31) -> int:
    value = optional_whole(env, name, low, high)
    return default if value is None else value


def optional_whole(env: Env, name: str, low: int = 0, high: int = 2**31) -> int | None:
    raw = text(env, name)
    if not raw:
        return None
    if not raw.lstrip("-").isdigit():
        raise SettingError(f"{name} must be a whole number, not {raw!r}")
    value = int(raw)
    if not low <= value <= high:
        raise SettingError(f"{name} must be between {low} and {high}")
    return value


def choice(env: Env, name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = text(env, name, default)
    if value not in allowed:
        raise SettingError(f"{name} must be one of {', '.join(allowed)}")
    return value


def boolean(env: Env, name: str, default: bool) -> bool:
    raw = text(env, name).lower()
    if not raw:
        return default
    if raw not in _TRUE + _FALSE:
        raise SettingError(f"{name} must be 1 or 0 (true or false)")
    return raw in _TRUE
