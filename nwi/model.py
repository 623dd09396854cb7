"""The resource model: config objects, devices, references.

The pydantic specs here are the single source of truth for validation and for
the generated CRDs (``nwi.crdgen``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nwi import jsontext
from nwi.kinds import API_VERSION, DEPENDS_ON, TRANSACTION, TRANSACTION_SIZE, DriverName
from nwi.path import GnmiPath

Operation = Literal["merge", "replace", "delete"]
DriftPolicy = Literal["repair", "report"]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class ConfigSpec(_Spec):
    """The spec every config kind shares."""

    switch_id: str = Field(
        alias="switchID",
        min_length=1,
        description="Name of a Device in the object's namespace (else in the operator's namespace).",
    )
    path: str = Field(min_length=1, description="gNMI path with list keys, e.g. /interfaces/interface[name=eth0].")
    operation: Operation = Field("merge", description="merge (default), replace or delete the subtree at path.")
    properties: dict[str, Any] | None = Field(
        None, description="The configuration subtree at path (also accepted at the top level of the object)."
    )
    drift_policy: DriftPolicy = Field(
        "repair", alias="driftPolicy", description="On drift: repair the device (default) or only report it."
    )


@dataclass(frozen=True, slots=True)
class Spec:
    """A config object's validated :class:`ConfigSpec`, kept as a plain frozen value.

    The pydantic model validates and defines the CRD schema; an object keeps
    this instead of the model instance: 80 bytes where the model, its dict and
    its set of given fields took 480 (a 100k plan reads every object's spec).
    """

    switch_id: str
    path: str
    operation: Operation = "merge"
    properties: dict[str, Any] | None = None
    drift_policy: DriftPolicy = "repair"
    #: :attr:`desired_hash` once computed (the spec is immutable); not part of the value
    _hash: str = field(default="", init=False, repr=False, compare=False)

    @classmethod
    def of(cls, model: ConfigSpec) -> Spec:
        return cls(model.switch_id, model.path, model.operation, model.properties, model.drift_policy)

    @property
    def desired_hash(self) -> str:
        """Hash of everything that decides what goes onto the device."""
        if not self._hash:  # threads racing here compute the same text: no lock needed
            doc = {
                "switchID": self.switch_id,
                "path": self.path,
                "operation": self.operation,
                "properties": self.properties or {},
            }
            digest = hashlib.sha256(jsontext.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]
            object.__setattr__(self, "_hash", digest)
        return self._hash

    def document(self) -> dict[str, Any]:
        """The spec as a manifest holds it: :class:`ConfigSpec`'s aliases, no null fields."""
        doc: dict[str, Any] = {"switchID": self.switch_id, "path": self.path, "operation": self.operation}
        if self.properties is not None:
            doc["properties"] = self.properties
        doc["driftPolicy"] = self.drift_policy
        return doc


class SecretRef(_Spec):
    name: str = Field(min_length=1)


class TlsSpec(_Spec):
    ca_secret_ref: SecretRef | None = Field(None, alias="caSecretRef", description="Secret with ca.crt.")
    client_cert_secret_ref: SecretRef | None = Field(
        None, alias="clientCertSecretRef", description="Secret with tls.crt and tls.key."
    )
    skip_verify: bool = Field(False, alias="skipVerify", description="Do not verify the device's certificate.")


class Timeouts(_Spec):
    connect: float = Field(10.0, gt=0, description="Seconds to wait for a session.")
    operation: float = Field(30.0, gt=0, description="Seconds to wait for one RPC.")


class ModelsSpec(_Spec):
    """The YANG models a device runs: nwi encodes, types and checks what it sends to it by them."""

    yang_path: list[str] | None = Field(
        None, alias="yangPath", min_length=1,
        description="Directories holding the device's YANG modules (searched recursively); the operator "
                    "reads its own file system (a mounted volume).")
    config_map_ref: SecretRef | None = Field(
        None, alias="configMapRef",
        description="Operator only: a ConfigMap in the Device's namespace whose keys are .yang files "
                    "(small model sets: a ConfigMap holds at most 1 MiB).")
    modules: list[str] | None = Field(
        None, description="Modules to load (names or globs such as srl_nokia-*); default: the modules of "
                          "the kind of the device's objects (SROSConfig: nokia-conf, ...) where the models "
                          "hold them, else every module there.")

    @model_validator(mode="after")
    def _one_source(self) -> ModelsSpec:
        if (self.yang_path is None) == (self.config_map_ref is None):
            raise ValueError("give exactly one of yangPath and configMapRef")
        return self


class DeviceSpec(_Spec):
    """Where and how to reach a device."""

    address: str | None = Field(None, description="Host or IP to connect to (default: the Device's name).")
    port: int | None = Field(None, ge=1, le=65535, description="Default 57400 (gNMI) or 830 (NETCONF).")
    driver: DriverName = Field("gnmi", description="gnmi, netconf or virtual.")
    backend: Literal["tree", "linux"] = Field(
        "tree", description="virtual driver only: an in-memory tree, or Linux links in a network namespace."
    )
    credentials_secret_ref: SecretRef | None = Field(
        None, alias="credentialsSecretRef", description="Secret with username and password."
    )
    insecure: bool = Field(False, description="gNMI: plaintext gRPC, no TLS.")
    tls: TlsSpec | None = None
    host_key_verify: bool = Field(True, alias="hostKeyVerify", description="NETCONF: verify the SSH host key.")
    encoding: str | None = Field(None, description="gNMI encoding (json_ietf, json); default per kind.")
    timeouts: Timeouts = Field(default_factory=lambda: Timeouts.model_validate({}))
    models: ModelsSpec | None = Field(
        None, description="The device's YANG models (default: the --yang-path models of its objects' kind).")

    def default_port(self) -> int:
        return self.port or {"gnmi": 57400, "netconf": 830, "virtual": 0}[self.driver]


class ObjectKey(NamedTuple):
    """Identity of an object: kind, namespace, name.

    A named tuple rather than a dataclass: keys are hashed and compared in
    every graph, planner and engine step, and a tuple does that in C.
    """

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"

    def short(self, relative_to: ObjectKey | None = None) -> str:
        """The shortest unambiguous name as seen from ``relative_to``."""
        if relative_to is not None and relative_to.namespace == self.namespace:
            return self.name if relative_to.kind == self.kind else f"{self.kind}/{self.name}"
        if relative_to is not None and relative_to.kind == self.kind:
            return f"{self.namespace}/{self.name}"
        return str(self)


@dataclass(frozen=True, slots=True)  # one per loaded object: no per-instance __dict__
class Source:
    """Where an object came from, for error messages."""

    file: str = "<api>"
    index: int = 0  # document number in the file (1-based; 0 = not from a file)

    def __str__(self) -> str:
        return f"{self.file} (document {self.index})" if self.index else self.file


@dataclass(frozen=True, slots=True)  # a run holds one per object, 100k of them: no per-instance __dict__
class ConfigObject:
    """A validated config object (any config kind)."""

    key: ObjectKey
    api_version: str
    spec: Spec
    path: GnmiPath
    #: ``path`` on the device (``ConfigKind.device_path``), resolved once when the object is built
    device_path: GnmiPath
    depends_on: tuple[ObjectKey, ...] = ()
    generation: int | None = None
    source: Source = field(default_factory=Source)
    uid: str = ""
    #: the network-wide transaction (annotation ``nwi.enc.nokia.com/transaction``) it belongs to, or ""
    transaction: str = ""
    #: the members that transaction has (``nwi.enc.nokia.com/transaction-size``); 0: not declared
    transaction_size: int = 0

    @property
    def properties(self) -> dict[str, Any]:
        return dict(self.spec.properties or {})

    def at_generation(self, generation: int) -> ConfigObject:
        """This object at ``generation`` (itself when it is there already)."""
        return self if self.generation == generation else replace(self, generation=generation)

    @property
    def desired_hash(self) -> str:
        return self.spec.desired_hash

    def manifest(self) -> dict[str, Any]:
        """A normalised document (``spec.properties`` form) to store and re-load."""
        return {**self._manifest_head(), "spec": self.spec.document()}

    def manifest_json(self) -> str:
        """:meth:`manifest` as JSON text."""
        return jsontext.dumps(self.manifest())

    def _manifest_head(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": self.key.name, "namespace": self.key.namespace}
        annotations: dict[str, str] = {}
        if self.depends_on:
            refs = [{"apiVersion": API_VERSION, "kind": d.kind, "name": d.name, "namespace": d.namespace}
                    for d in self.depends_on]
            annotations[DEPENDS_ON] = jsontext.dumps(refs)
        if self.transaction:
            annotations[TRANSACTION] = self.transaction
        if self.transaction_size:
            annotations[TRANSACTION_SIZE] = str(self.transaction_size)
        if annotations:
            meta["annotations"] = annotations
        return {"apiVersion": self.api_version, "kind": self.key.kind, "metadata": meta}


@dataclass(frozen=True)
class DeviceObject:
    key: ObjectKey
    spec: DeviceSpec
    source: Source = field(default_factory=Source)

    @property
    def address(self) -> str:
        return self.spec.address or self.key.name


@dataclass(frozen=True)
class SecretObject:
    """A v1 Secret from the input files; kept in memory only, never stored."""

    key: ObjectKey
    data: dict[str, str] = field(repr=False)
    source: Source = field(default_factory=Source)
