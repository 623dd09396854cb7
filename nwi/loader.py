"""Load resources from YAML files and directories, with errors that name file, object and field.

Accepts multi-document files, ``kind: List`` documents and the legacy
top-level ``properties`` form. ``v1 Secret`` documents are read (as ``kubectl
apply -f`` would) but kept in memory only; ``v1 Namespace`` documents and
kustomization files are skipped so a GitOps directory loads as it is.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import os
import re
import stat
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from sys import intern
from typing import TYPE_CHECKING, Any

import pydantic
import yaml

from nwi import jsontext
from nwi.kinds import API_VERSION, CONFIG_KINDS, DEPENDS_ON, DEVICE_KIND, GROUP, TRANSACTION, TRANSACTION_SIZE
from nwi.model import (
    ConfigObject,
    ConfigSpec,
    DeviceObject,
    DeviceSpec,
    ObjectKey,
    SecretObject,
    Source,
    Spec,
)
from nwi.path import PathError, parse_path

if TYPE_CHECKING:
    from nwi.parsecache import ParseCache
    from nwi.schema.check import SchemaReport

YAML_SUFFIXES = (".yaml", ".yml", ".json")
SKIPPED_FILES = {"kustomization.yaml", "kustomization.yml", "Kustomization"}
SKIPPED_CORE_KINDS = {"Namespace"}
MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_NODES = 2_000_000  # YAML nodes per document once aliases are expanded
MAX_PROPERTIES_BYTES = 1024 * 1024  # what one object may carry (etcd's own limit is 1.5 MiB)
MAX_SECRET_BYTES = 1024 * 1024  # Kubernetes refuses a Secret above 1 MiB
MAX_DEPTH = 100  # nesting of a document: deeper than any device's configuration tree, far below Python's limits
#: Kubernetes' object names (RFC 1123 subdomain) and namespaces (RFC 1123 label)
_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


@dataclass(frozen=True)
class InputError:
    """One problem in the input, pinned to file, object and field."""

    file: str
    object: str
    field: str
    message: str

    def __str__(self) -> str:
        where = ": ".join(p for p in (self.file, self.object, self.field) if p)
        return f"{where}: {self.message}"


class InvalidInput(Exception):
    """The input set has errors; nothing may be applied."""

    def __init__(self, errors: Sequence[InputError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = list(errors)


@dataclass
class InputSet:
    configs: list[ConfigObject] = field(default_factory=list)
    devices: list[DeviceObject] = field(default_factory=list)
    secrets: list[SecretObject] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    #: what the YANG checks did (nwi.schema), when the set was validated with models
    schema: SchemaReport | None = None

    def extend(self, other: InputSet) -> None:
        self.configs += other.configs
        self.devices += other.devices
        self.secrets += other.secrets
        self.errors += other.errors


def iter_files(paths: Iterable[str | Path]) -> Iterator[Path]:
    """YAML/JSON files under the given files and directories, in a stable order."""
    for p in map(Path, paths):
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p)
                if any(part.startswith(".") for part in rel.parts):
                    continue
                if f.is_file() and f.suffix in YAML_SUFFIXES and f.name not in SKIPPED_FILES:
                    yield f
        else:
            yield p


def load_paths(
    paths: Iterable[str | Path], default_namespace: str = "default", cache: ParseCache | None = None
) -> InputSet:
    """Load every document under ``paths``; errors are collected, not raised.

    With a ``cache`` (:class:`nwi.parsecache.ParseCache`, under the state
    dir), files parsed by an earlier load are read from it, and it is left
    holding just this load's files: commands that must not write pass none.
    """
    result = InputSet()
    for f in iter_files(paths):
        result.extend(load_file(f, default_namespace, cache))
    if cache is not None:
        cache.prune()
    return result


class _Unreadable(Exception):
    pass


def read_input(path: Path) -> str:
    """The file's text, read with the size limit enforced while reading (a file may grow, and
    ``/dev/zero`` has no size); anything but a regular file is refused. A FIFO is opened without
    waiting for a writer, so it is refused rather than hanging."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise _Unreadable(f"cannot read: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _Unreadable("not a regular file (a device, FIFO or socket): input must be files")
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, 1 << 20):
            total += len(chunk)
            if total > MAX_FILE_BYTES:
                raise _Unreadable(f"file larger than {MAX_FILE_BYTES} bytes")
            chunks.append(chunk)
    except OSError as exc:
        raise _Unreadable(f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Unreadable(f"cannot read: not UTF-8 text (byte {exc.start})") from None


def load_file(path: Path, default_namespace: str = "default", cache: ParseCache | None = None) -> InputSet:
    result = InputSet()
    name = str(path)
    try:
        text = read_input(path)
    except _Unreadable as exc:
        result.errors.append(InputError(name, "", "", str(exc)))
        return result
    docs = cache.get(text) if cache is not None else None
    parsed = docs is None
    try:
        if docs is None:
            docs = parse_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        result.errors.append(InputError(name, "", "", f"malformed YAML: {where}{problem}"))
        return result
    except InputTooLarge as exc:
        result.errors.append(InputError(name, "", "", str(exc)))
        return result
    for index, doc in enumerate(docs, start=1):
        if doc is not None:
            _load_into(result, doc, Source(name, index), default_namespace)
    # only a file nwi accepted is kept, and never one with credentials in it (a Secret, or a refused
    # file: a credentials file left in the directory, a password typed into a Device, `kind: secret`)
    if parsed and cache is not None and not result.errors and not result.secrets:
        cache.put(text, docs)
    return result


try:  # libyaml's parser when PyYAML was built with it (4x faster), same node API
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_DEFAULT_TAGS = {yaml.ScalarNode: _STR, yaml.SequenceNode: _SEQ, yaml.MappingNode: _MAP}
#: implicit scalar tags the direct construction handles, each with the loader's own constructor for it
_DIRECT_SCALARS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("int", "float", "bool", "null"))
#: how deep the direct (recursive) construction goes; deeper documents take PyYAML's constructor, which
#: builds them without recursing, so they load or fail exactly as before whatever Python's recursion limit
_DIRECT_DEPTH = 64


class InputTooLarge(ValueError):
    pass


#: what PyYAML's scalar constructors raise for an explicitly tagged value they cannot read (``!!int abc``)
_BAD_VALUE = (ValueError, KeyError, TypeError, AttributeError)


def _bad_value(node: yaml.Node) -> yaml.MarkedYAMLError:
    # the value itself stays out of the message: it may be a Secret's
    tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
    return yaml.constructor.ConstructorError(None, None, f"value is not a valid {tag}", node.start_mark)


def _duplicate_key(mapping: yaml.MappingNode, again: yaml.Node) -> yaml.MarkedYAMLError:
    first = next(k for k, _ in mapping.value if type(k) is yaml.ScalarNode and k.value == again.value
                 and k.tag == again.tag)
    at = first.start_mark
    return yaml.constructor.ConstructorError(
        None, None, f"duplicate key {printable(str(again.value))!r} (first at line {at.line + 1}, column "
                    f"{at.column + 1})", again.start_mark)


def _same_key_twice(mapping: yaml.MappingNode, key_node: yaml.ScalarNode) -> bool:
    """Whether ``key_node``'s text is an earlier key's text of ``mapping`` too."""
    for k, _ in mapping.value:
        if k is key_node:
            return False
        if type(k) is yaml.ScalarNode and k.value == key_node.value and k.tag == key_node.tag:
            return True
    return False


def printable(text: str) -> str:
    """``text`` with control and other non-printable characters escaped, safe to show on a terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _depth_exceeds(doc: Any, limit: int) -> bool:
    """Whether ``doc`` nests mappings and lists deeper than ``limit`` (iteratively: no recursion)."""
    stack = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, Mapping):
            children: Iterable[Any] = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, (Mapping, list)))
    return False


class _NotPlain(Exception):
    """The document uses a tag or form the direct construction leaves to PyYAML."""


class _Loader(_SafeLoader):
    """PyYAML's safe loader, with two shortcuts that give the same documents.

    PyYAML composes nodes in C but resolves each plain scalar's tag and
    constructs each node in Python, several calls per node; those two steps
    were most of the load time. Resolution is memoised per stream (the safe
    loader has no path resolvers, so a plain scalar's tag depends on its text
    alone), and documents made only of strings, numbers, booleans, nulls,
    mappings and sequences without anchors are built by one recursive
    function. Anything else (timestamps, binary, sets, merge keys, explicit
    tags, anchors) is constructed by PyYAML exactly as before.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._plain_tags: dict[str, str] = {}
        # the composer calls these two hooks for every node; without path resolvers (the safe schema
        # has none) they do nothing, and C callables that do nothing cost a third of a Python method
        self.descend_resolver = {}.get  # type: ignore[method-assign,assignment]
        self.ascend_resolver = tuple  # type: ignore[method-assign,assignment]

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: tuple[bool, bool]) -> Any:
        # without path resolvers (the safe schema has none) a tag depends on the text alone, and
        # a quoted scalar, a mapping or a sequence gets its kind's default tag
        if kind is yaml.ScalarNode and implicit[0]:
            tag = self._plain_tags.get(value)
            if tag is None:
                tag = self._plain_tags[value] = super().resolve(kind, value, implicit)
            return tag
        return _DEFAULT_TAGS[kind]

    def construct_finite_float(self, node: yaml.ScalarNode) -> float:
        """A float, but not ``.nan`` or ``.inf``: JSON (the state file, gNMI's JSON values) has no
        such numbers, so they would turn into something else on the way."""
        value = float(self.construct_yaml_float(node))
        if not math.isfinite(value):
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value} is not a number JSON can carry (no NaN or Infinity)", node.start_mark)
        return value

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """PyYAML's, refusing a key given twice (PyYAML keeps the last; the Kubernetes API refuses it)."""
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if type(key_node) is yaml.ScalarNode and key_node.tag != "tag:yaml.org,2002:merge":
                if (key_node.tag, key_node.value) in seen:
                    raise _duplicate_key(node, key_node)
                seen.add((key_node.tag, key_node.value))
        return super().construct_mapping(node, deep)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except _BAD_VALUE:
            raise _bad_value(node) from None

    def construct_direct(self, node: yaml.Node, depth: int = 0) -> Any:
        """The document at ``node`` as PyYAML's safe constructor builds it; :class:`_NotPlain` if it cannot."""
        tag = node.tag
        if type(node) is yaml.ScalarNode:
            if tag == _STR:
                return node.value
            if tag not in _DIRECT_SCALARS:
                raise _NotPlain
            try:
                return self.yaml_constructors[tag](self, node)
            except _BAD_VALUE:
                raise _bad_value(node) from None
        if depth >= _DIRECT_DEPTH:
            raise _NotPlain
        # strings, most of a document, are taken inline: a call per scalar was a fifth of the loading
        if type(node) is yaml.MappingNode and tag == _MAP:
            out = {}
            for key_node, value_node in node.value:
                # scalar keys only: merge keys ("<<"), "=" and unhashable keys are PyYAML's to handle
                if type(key_node) is not yaml.ScalarNode:
                    raise _NotPlain
                key = intern(key_node.value) if key_node.tag == _STR else self.construct_direct(key_node)
                if key in out and _same_key_twice(node, key_node):  # (1 and `yes` are equal keys, not the same)
                    raise _duplicate_key(node, key_node)
                if type(value_node) is yaml.ScalarNode and value_node.tag == _STR:
                    out[key] = value_node.value
                else:
                    out[key] = self.construct_direct(value_node, depth + 1)
            return out
        if type(node) is yaml.SequenceNode and tag == _SEQ:
            return [item.value if type(item) is yaml.ScalarNode and item.tag == _STR
                    else self.construct_direct(item, depth + 1) for item in node.value]
        raise _NotPlain


_Loader.add_constructor("tag:yaml.org,2002:float", _Loader.construct_finite_float)


def parse_yaml(text: str) -> list[Any]:
    """All documents of a YAML stream, refusing alias bombs and absurd nesting before building them."""
    loader = _Loader(text)
    # only anchors make aliases: without them no node is shared, and nothing can expand
    anchors = "&" in text
    docs: list[Any] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if anchors and node is not None and _expanded_size(node) > MAX_NODES:
                raise InputTooLarge(f"document {len(docs) + 1} expands to more than {MAX_NODES} YAML nodes")
            if not anchors and node is not None:
                try:
                    docs.append(loader.construct_direct(node))
                    continue
                except _NotPlain:
                    pass
            docs.append(loader.construct_document(node))
    except RecursionError:
        raise InputTooLarge("YAML nested too deeply") from None
    finally:
        loader.dispose()
    return docs


def _expanded_size(root: yaml.Node) -> int:
    """Node count with aliases expanded, computed on the shared node graph (iteratively, memoised)."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        kids: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            kids = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            kids = [n for pair in node.value for n in pair]
        if children_done or not kids:
            sizes[id(node)] = min(MAX_NODES + 1, 1 + sum(sizes.get(id(k), 0) for k in kids))
        else:
            stack.append((node, True))
            stack.extend((k, False) for k in kids if id(k) not in sizes)
    return sizes[id(root)]


def load_document(doc: Any, source: Source, default_namespace: str = "default") -> InputSet:
    """Turn one parsed document (or a ``kind: List``) into objects or errors."""
    result = InputSet()
    _load_into(result, doc, source, default_namespace)
    return result


def _load_into(result: InputSet, doc: Any, source: Source, default_namespace: str) -> None:
    """:func:`load_document`, adding to ``result`` (a file's documents share one set)."""
    if not isinstance(doc, Mapping):
        result.errors.append(InputError(str(source), "", "", "a document must be a mapping (an object)"))
        return
    kind = doc.get("kind")
    api_version = doc.get("apiVersion")
    if kind == "List" and api_version == "v1":
        items = doc.get("items")
        if not isinstance(items, list):
            result.errors.append(InputError(str(source), "List", "items", "must be a list"))
            return
        for i, item in enumerate(items):
            if isinstance(item, Mapping):
                _load_into(result, item, Source(source.file, source.index), default_namespace)
            else:
                result.errors.append(InputError(str(source), "List", f"items[{i}]", "must be a mapping"))
        return
    if _depth_exceeds(doc, MAX_DEPTH):
        meta = doc.get("metadata")
        name = meta.get("name") if isinstance(meta, Mapping) else None
        label = f"{printable(str(kind or ''))} {printable(str(name))}" if name else printable(str(kind or ""))
        where = "spec.properties" if _depth_exceeds(doc.get("properties"), MAX_DEPTH - 1) or (
            isinstance(doc.get("spec"), Mapping) and _depth_exceeds(doc["spec"].get("properties"), MAX_DEPTH - 2)) \
            else ""
        result.errors.append(InputError(str(source), label, where, f"nested deeper than {MAX_DEPTH} levels"))
        return
    try:
        obj = build_object(doc, source, default_namespace)
    except InvalidInput as exc:
        result.errors += exc.errors
        return
    except RecursionError:
        result.errors.append(InputError(str(source), str(kind or ""), "", "nested too deeply"))
        return
    if isinstance(obj, ConfigObject):
        result.configs.append(obj)
    elif isinstance(obj, DeviceObject):
        result.devices.append(obj)
    elif isinstance(obj, SecretObject):
        result.secrets.append(obj)


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a valid Kubernetes object name (an RFC 1123 subdomain), or None."""
    if len(name) > 253:
        return f"{len(name)} characters; at most 253"
    if not _SUBDOMAIN.fullmatch(name):
        return (f"{printable(name)!r} is not a valid name: lower case letters, digits, '-' and '.', "
                "starting and ending with a letter or digit (RFC 1123)")
    return None


def namespace_problem(namespace: str) -> str | None:
    """Why ``namespace`` is not a valid Kubernetes namespace (an RFC 1123 label), or None."""
    if len(namespace) > 63:
        return f"{len(namespace)} characters; at most 63"
    if not _LABEL.fullmatch(namespace):
        return (f"{printable(namespace)!r} is not a valid namespace: lower case letters, digits and '-', "
                "starting and ending with a letter or digit (RFC 1123 label)")
    return None


def build_object(
    doc: Mapping[str, Any], source: Source, default_namespace: str = "default", check_names: bool = True
) -> ConfigObject | DeviceObject | SecretObject | None:
    """Validate one resource document; raise :class:`InvalidInput` naming every bad field.

    ``check_names``: refuse names and namespaces Kubernetes would (off for what an older nwi stored,
    so that such state stays readable)."""
    kind = doc.get("kind")
    api_version = doc.get("apiVersion")
    meta = doc.get("metadata")
    src = str(source)
    if not isinstance(kind, str) or not kind:
        raise InvalidInput([InputError(src, "", "kind", "missing or not a string")])
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str) or not meta.get("name"):
        raise InvalidInput([InputError(src, printable(kind), "metadata.name", "missing or not a string")])
    namespace = meta.get("namespace") or default_namespace
    if not isinstance(namespace, str):
        raise InvalidInput([InputError(src, printable(kind), "metadata.namespace", "must be a string")])
    label = f"{printable(kind)} {printable(namespace)}/{printable(meta['name'])}"
    name_errors = [InputError(src, label, where, problem) for where, problem in (
        ("metadata.name", name_problem(meta["name"])), ("metadata.namespace", namespace_problem(namespace))) if problem]
    if name_errors and check_names:
        raise InvalidInput(name_errors)
    key = object_key(kind, namespace, meta["name"])

    if api_version == "v1" and kind in SKIPPED_CORE_KINDS:
        return None
    if api_version == "v1" and kind == "Secret":
        return SecretObject(key, _secret_data(doc, src, label), source)
    if kind not in CONFIG_KINDS and kind != DEVICE_KIND:
        known = ", ".join([*CONFIG_KINDS, DEVICE_KIND, "v1 Secret", "v1 List"])
        raise InvalidInput([InputError(src, label, "kind", f"unknown kind {kind!r} (known: {known})")])
    if api_version != API_VERSION:
        raise InvalidInput([InputError(src, label, "apiVersion", f"{api_version!r} is not {API_VERSION!r}")])

    if kind == DEVICE_KIND:
        try:
            return DeviceObject(key, DeviceSpec.model_validate(doc.get("spec") or {}), source)
        except pydantic.ValidationError as exc:
            raise InvalidInput(_pydantic_errors(exc, src, label, "spec")) from None
    return _build_config(doc, key, api_version, source, label)


@functools.lru_cache(maxsize=1 << 14)
def object_key(kind: str, namespace: str, name: str) -> ObjectKey:
    """The key, shared: a dependency is the very key of the object it names when that was made
    recently (sets list dependencies close before their dependents), so a graph's lookups match by
    identity, and each reference costs no tuple of its own. The strings are interned for the same
    reason. Bounded, so a long-running operator keeps at most a few MB of them."""
    return ObjectKey(intern(kind), intern(namespace), intern(name))


def _build_config(
    doc: Mapping[str, Any], key: ObjectKey, api_version: str, source: Source, label: str
) -> ConfigObject:
    src = str(source)
    errors: list[InputError] = []
    spec_doc = doc.get("spec")
    if not isinstance(spec_doc, Mapping):
        raise InvalidInput([InputError(src, label, "spec", "missing or not a mapping")])
    spec_doc = dict(spec_doc)
    top = doc.get("properties")
    if spec_doc.get("properties") is None and top is not None:
        if not isinstance(top, Mapping):
            errors.append(InputError(src, label, "properties", "must be a mapping"))
        else:
            spec_doc["properties"] = dict(top)  # legacy form: properties beside spec
    spec: ConfigSpec | None = None
    try:
        spec = ConfigSpec.model_validate(spec_doc)
    except pydantic.ValidationError as exc:
        errors += _pydantic_errors(exc, src, label, "spec")
    if spec is not None and spec.properties:
        try:
            size = len(jsontext.dumps(spec.properties))
        except TypeError as exc:  # a YAML date, binary or set: the device protocols carry JSON only
            errors.append(InputError(src, label, "spec.properties", f"not JSON: {exc} (quote dates and times)"))
            size = 0
        if size > MAX_PROPERTIES_BYTES:
            errors.append(InputError(src, label, "spec.properties",
                                     f"{size} bytes of properties; at most {MAX_PROPERTIES_BYTES} per object"))
    path = None
    if spec is not None:
        try:
            path = parse_path(spec.path)
        except PathError as exc:
            errors.append(InputError(src, label, "spec.path", str(exc)))
    meta = doc["metadata"]
    annotations = meta.get("annotations") or {}
    depends_on: tuple[ObjectKey, ...] = ()
    if not isinstance(annotations, Mapping):
        errors.append(InputError(src, label, "metadata.annotations", "must be a mapping"))
    elif DEPENDS_ON in annotations:
        try:
            depends_on = parse_depends_on(annotations[DEPENDS_ON], key, api_version)
        except DependsOnError as exc:
            errors.append(InputError(src, label, f"metadata.annotations[{DEPENDS_ON}]{exc.where}", exc.message))
    transaction, transaction_size = "", 0
    if isinstance(annotations, Mapping):
        transaction, transaction_size = _transaction(annotations, src, label, errors)
    generation = meta.get("generation")
    if errors or spec is None or path is None:
        raise InvalidInput(errors)
    return ConfigObject(
        key=key,
        api_version=api_version,
        spec=Spec.of(spec),
        path=path,
        device_path=CONFIG_KINDS[key.kind].device_path(path),
        depends_on=depends_on,
        generation=generation if isinstance(generation, int) else None,
        source=source,
        uid=str(meta.get("uid") or ""),
        transaction=transaction,
        transaction_size=transaction_size,
    )


_TRANSACTION_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?")


def _transaction(annotations: Mapping[str, Any], src: str, label: str, errors: list[InputError]) -> tuple[str, int]:
    """The transaction annotations: a name like a Kubernetes label value, and an optional member count."""
    name = annotations.get(TRANSACTION)
    size_text = annotations.get(TRANSACTION_SIZE)
    if name is None:
        if size_text is not None:
            errors.append(InputError(src, label, f"metadata.annotations[{TRANSACTION_SIZE}]",
                                     f"given without {TRANSACTION}"))
        return "", 0
    if not isinstance(name, str) or not _TRANSACTION_NAME.fullmatch(name):
        errors.append(InputError(src, label, f"metadata.annotations[{TRANSACTION}]",
                                 f"{name!r} is not a transaction name (1-63 letters, digits, '-', '_', '.', "
                                 "starting and ending with a letter or digit)"))
        return "", 0
    size = 0
    if size_text is not None:
        try:
            size = int(str(size_text))
        except ValueError:
            size = -1
        if size < 1:
            errors.append(InputError(src, label, f"metadata.annotations[{TRANSACTION_SIZE}]",
                                     f"{size_text!r} is not a positive whole number"))
            size = 0
    return name, size


_REF_FIELDS = frozenset({"apiVersion", "kind", "name", "namespace"})


class DependsOnError(ValueError):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


def parse_depends_on(value: Any, own: ObjectKey, own_api_version: str = API_VERSION) -> tuple[ObjectKey, ...]:
    """Parse the depends_on annotation: a JSON list of {apiVersion?, kind, name, namespace?}."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise DependsOnError("", f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(value, list):
        raise DependsOnError("", "must be a JSON list of references like [{\"kind\": ..., \"name\": ...}]")
    refs: list[ObjectKey] = []
    for i, ref in enumerate(value):
        where = f"[{i}]"
        if not isinstance(ref, dict):
            raise DependsOnError(where, "a reference must be an object with kind and name")
        if not _REF_FIELDS.issuperset(ref):
            unknown = sorted(set(ref) - _REF_FIELDS)[0]
            raise DependsOnError(f"{where}.{unknown}", "unknown field in reference")
        for fld in ("kind", "name"):
            if not isinstance(ref.get(fld), str) or not ref[fld]:
                raise DependsOnError(f"{where}.{fld}", "missing or not a string")
        api_version = ref.get("apiVersion", own_api_version)
        if not isinstance(api_version, str) or api_version.split("/")[0] != GROUP:
            raise DependsOnError(f"{where}.apiVersion", f"{api_version!r} is not in group {GROUP}")
        if ref["kind"] not in CONFIG_KINDS:
            raise DependsOnError(f"{where}.kind", f"{ref['kind']!r} is not a config kind ({', '.join(CONFIG_KINDS)})")
        namespace = ref.get("namespace", own.namespace)
        if not isinstance(namespace, str) or not namespace:
            raise DependsOnError(f"{where}.namespace", "must be a non-empty string")
        for fld, problem in (("name", name_problem(ref["name"])), ("namespace", namespace_problem(namespace))):
            if problem:
                raise DependsOnError(f"{where}.{fld}", problem)
        dep = object_key(ref["kind"], namespace, ref["name"])
        if dep == own:
            raise DependsOnError(where, "an object cannot depend on itself")
        if dep not in refs:
            refs.append(dep)
    return tuple(refs)


def _pydantic_errors(exc: pydantic.ValidationError, src: str, label: str, prefix: str) -> list[InputError]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        out.append(InputError(src, label, f"{prefix}.{loc}" if loc else prefix, msg))
    return out


def _secret_data(doc: Mapping[str, Any], src: str, label: str) -> dict[str, str]:
    data: dict[str, str] = {}
    raw = doc.get("data") or {}
    if not isinstance(raw, Mapping):
        raise InvalidInput([InputError(src, label, "data", "must be a mapping")])
    for k, v in raw.items():
        try:
            data[str(k)] = base64.b64decode(str(v), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidInput([InputError(src, label, f"data.{k}", "not valid base64 text")]) from None
    string_data = doc.get("stringData") or {}
    if not isinstance(string_data, Mapping):
        raise InvalidInput([InputError(src, label, "stringData", "must be a mapping")])
    data.update({str(k): str(v) for k, v in string_data.items()})
    size = sum(len(k) + len(v.encode("utf-8", "surrogatepass")) for k, v in data.items())
    if size > MAX_SECRET_BYTES:
        raise InvalidInput([InputError(src, label, "data", f"{size} bytes; a Secret holds at most "
                                                           f"{MAX_SECRET_BYTES} (as Kubernetes)")])
    return data
