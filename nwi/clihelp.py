"""``--help`` laid out as kubectl lays it out: the description, the commands or options each on a
line of its own with the description indented below, then the usage.

Typer's default (rich panels) puts type labels (``<list[Path]>``, ``<bool>``) next to every option
and, at 80 columns, cuts long option names to fit its table. Here an option's names are never cut
or wrapped (they are what a user types), only descriptions wrap, and a value is shown the way it is
given (``--output=table``), with its choices.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Iterable
from enum import Enum
from typing import Any

from typer.core import TyperCommand, TyperGroup

# Parameters are told apart by click's own ``param_type_name`` rather than by class: recent typer
# releases carry their own copy of click, whose classes are not the installed click's.
# Annotations say Any for the same reason.

INDENT, TEXT_INDENT = " " * 4, " " * 8


def _paragraphs(text: str, width: int) -> list[str]:
    """Plain paragraphs re-wrapped to ``width``; indented lines (examples) kept as written."""
    out: list[str] = []
    for block in inspect.cleandoc(text).split("\n\n"):
        lines = block.splitlines()
        if any(line.startswith(" ") for line in lines):
            out.append(block)
        else:
            out.append(textwrap.fill(" ".join(lines), width))
    return out


def _is_option(p: Any) -> bool:
    return getattr(p, "param_type_name", None) == "option" and not getattr(p, "hidden", False)


def _is_argument(p: Any) -> bool:
    return getattr(p, "param_type_name", None) == "argument"


def _choices(param: Any) -> list[str]:
    """An enum-typed parameter's values (typer makes them a choice), or click's Choice."""
    annotation = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [str(m.value) for m in annotation]
    return [str(c) for c in getattr(getattr(param, "type", None), "choices", None) or ()]


def _value(opt: Any) -> str:
    """What follows an option's name: ``=table``, ``=16``, ``=[]``; nothing for a flag."""
    if opt.is_flag or opt.count:
        return ""
    if opt.multiple:
        return "=[]"
    default = opt.default
    if isinstance(default, Enum):
        default = default.value
    if default is None or callable(default):
        return "=''"
    if isinstance(default, bool | int | float):
        return f"={default}"
    return f"='{default}'"


def _names(opt: Any) -> str:
    short = [o for o in opt.opts if not o.startswith("--")]
    long = [o for o in opt.opts if o.startswith("--")]
    return ", ".join([*short, *long, *opt.secondary_opts]) + _value(opt)


def _description(param: Any) -> str:
    text = (getattr(param, "help", None) or "").strip()
    extra = []
    choices = _choices(param)
    if choices:
        extra.append("One of: " + ", ".join(choices) + ".")
    if _is_option(param) and param.is_flag and param.default is True:
        extra.append("On by default.")
    if param.required and _is_option(param):
        extra.append("Required.")
    envvar = param.envvar
    if envvar:
        names = [envvar] if isinstance(envvar, str) else list(envvar)
        extra.append("Also from " + ", ".join(f"${n}" for n in names) + ".")
    return " ".join([text, *extra]).strip()


def _entries(entries: Iterable[tuple[str, str]], width: int) -> list[str]:
    out = []
    for head, text in entries:
        out.append(f"{INDENT}{head}:")
        if text:
            out.append(textwrap.fill(text, width, initial_indent=TEXT_INDENT, subsequent_indent=TEXT_INDENT))
        out.append("")
    return out


def _usage(cmd: Any, ctx: Any) -> str:
    pieces = [ctx.command_path]
    for p in cmd.get_params(ctx):
        if _is_option(p) and p.required:
            name = next((o for o in p.opts if not o.startswith("--")), p.opts[0])
            long = next((o for o in p.opts if o.startswith("--")), p.opts[0])
            pieces.append(f"{name} {long.lstrip('-').replace('-', '_').upper()}")
        elif _is_argument(p):
            meta = (p.name or "arg").upper() + ("..." if p.nargs == -1 else "")
            pieces.append(meta if p.required else f"[{meta}]")
    return " ".join([*pieces, "[options]"])


def _width(formatter: Any) -> int:
    return max(formatter.width, 40)


def command_help(cmd: Any, ctx: Any, formatter: Any) -> None:
    width = _width(formatter)
    out = ["\n\n".join(_paragraphs(cmd.help or "", width)), ""]
    params = [p for p in cmd.get_params(ctx) if not getattr(p, "hidden", False)]
    args = [p for p in params if _is_argument(p)]
    if args:
        out += ["Arguments:", *_entries((((p.name or "").upper(), _description(p)) for p in args), width)]
    opts = [p for p in params if _is_option(p)]
    if opts:
        out += ["Options:", *_entries(((_names(p), _description(p)) for p in opts), width)]
    out += ["Usage:", f"  {_usage(cmd, ctx)}"]
    formatter.write("\n".join(out) + "\n")


def group_help(group: Any, ctx: Any, formatter: Any) -> None:
    width = _width(formatter)
    out = ["\n\n".join(_paragraphs(group.help or "", width)), "", "Commands:"]
    commands = [(n, c) for n in group.list_commands(ctx) if (c := group.get_command(ctx, n)) and not c.hidden]
    pad = max((len(n) for n, _ in commands), default=0) + 3
    for name, c in commands:
        short = c.get_short_help_str(limit=10_000)
        wrapped = textwrap.wrap(short, max(width - pad - 2, 20)) or [""]
        out.append(f"  {name.ljust(pad)}{wrapped[0]}")
        out += [" " * (pad + 2) + line for line in wrapped[1:]]
    opts = [p for p in group.get_params(ctx) if _is_option(p)]
    out += ["", "Options:", *_entries(((_names(p), _description(p)) for p in opts), width)]
    out += ["Usage:", f"  {ctx.command_path} [command] [options]", "",
            f'Use "{ctx.command_path} <command> --help" for more information about a given command.']
    formatter.write("\n".join(out) + "\n")


class Command(TyperCommand):
    def format_help(self, ctx: Any, formatter: Any) -> None:
        command_help(self, ctx, formatter)


class Group(TyperGroup):
    def format_help(self, ctx: Any, formatter: Any) -> None:
        group_help(self, ctx, formatter)
