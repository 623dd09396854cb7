"""Device inventory: resolve ``spec.switchID`` to a Device and build its driver.

Resolution: a ``Device`` named ``switchID`` in the object's own
namespace, else in the shared inventory namespace. The standalone CLI serves an
unresolved switchID with an implicit virtual device unless ``strict``.

Credentials come from Secrets named by the Device (operator, or ``v1 Secret``
documents among the CLI's input files), else from a credentials file or the
environment (``NWI_USERNAME`` / ``NWI_PASSWORD``). They are passed to drivers
in :class:`~nwi.drivers.base.ConnectionParams`, whose repr hides them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from nwi.drivers.base import ConnectionParams, Driver, DriverError
from nwi.model import ConfigObject, DeviceObject, DeviceSpec, ObjectKey, SecretObject, SecretRef

if TYPE_CHECKING:
    from nwi.schema import ModelSet

DEFAULT_INVENTORY_NAMESPACE = "nwi-system"


class DeviceNotFound(LookupError):
    pass


class CredentialsError(DriverError):
    """A Device's Secret or credentials are missing or malformed."""

    reason = "CredentialsNotFound"


class DeviceUnfit(DriverError):
    """The Device an object names cannot hold that object's kind (a LinuxConfig on a tree-backed device)."""

    reason = "InvalidSpec"


def unfit_reason(obj: ConfigObject, rd: ResolvedDevice) -> str | None:
    """Why ``rd`` cannot hold ``obj``, or None.

    A LinuxConfig is Linux state: on a virtual device only the Linux backend has it. The tree backend
    would keep the links in a file and report them Ready while no kernel has them. Refused rather than
    switched to the Linux backend: the Device says how its device is run (a network namespace
    needs root, and the same device may hold tree-backed objects of other kinds), so nwi does not
    overrule it; the fix is one field. An implicit device (no Device) is Linux-backed for a LinuxConfig.
    """
    if obj.key.kind != "LinuxConfig" or rd.device is None:
        return None
    spec, key = rd.device.spec, rd.device.key
    if spec.driver == "virtual" and spec.backend != "linux":
        return (f"Device {key.namespace}/{key.name} is a virtual device with backend {spec.backend!r}, which has "
                "no Linux links: a LinuxConfig needs spec.backend: linux on that Device")
    return None


@dataclass(frozen=True)
class ResolvedDevice:
    """Where an object goes. ``id`` is unique per device and groups transactions."""

    id: str
    name: str
    device: DeviceObject | None  # None: an implicit virtual device
    implicit_backend: str = "tree"  # an implicit device's backend (linux for LinuxConfig objects)

    @property
    def spec(self) -> DeviceSpec:
        if self.device is not None:
            return self.device.spec
        return DeviceSpec.model_validate({"driver": "virtual", "backend": self.implicit_backend})


class Inventory:
    def __init__(
        self,
        devices: Iterable[DeviceObject],
        secrets: Iterable[SecretObject] = (),
        inventory_namespace: str = DEFAULT_INVENTORY_NAMESPACE,
        strict: bool = False,
        credentials_file: Path | None = None,
        environ: Mapping[str, str] | None = None,
        yang_paths: Sequence[Path] = (),
        model_dirs: Mapping[tuple[str, str], Path] | None = None,
    ) -> None:
        self.devices = {d.key: d for d in devices}
        self.secrets = {s.key: s for s in secrets}
        self.inventory_namespace = inventory_namespace
        self.strict = strict
        self._file_credentials = _read_credentials_file(credentials_file) if credentials_file else {}
        self._environ = dict(os.environ if environ is None else environ)
        self.resolved: dict[str, ResolvedDevice] = {}
        #: --yang-path: every device without models of its own runs its objects' kind's models
        self.yang_paths = tuple(yang_paths)
        #: (namespace, name) of a ConfigMap of models -> the directory its files were written to (operator)
        self.model_dirs = dict(model_dirs or {})
        #: the kinds of the objects resolved to each device (which kind's models it runs)
        self.kinds: dict[str, set[str]] = {}

    def resolve(self, obj: ConfigObject) -> ResolvedDevice:
        switch = obj.spec.switch_id
        for namespace in (obj.key.namespace, self.inventory_namespace):
            dev = self.devices.get(ObjectKey("Device", namespace, switch))
            if dev is not None:
                rd = ResolvedDevice(f"{namespace}/{switch}", switch, dev)
                break
        else:
            if self.strict:
                raise DeviceNotFound(
                    f"no Device {switch!r} in namespace {obj.key.namespace!r} or {self.inventory_namespace!r}"
                )
            backend = "linux" if obj.key.kind == "LinuxConfig" else "tree"
            rd = ResolvedDevice(f"virtual:{backend}:{switch}", switch, None, backend)
        self.resolved[rd.id] = rd
        kinds = self.kinds.get(rd.id)
        if kinds is None:
            self.kinds[rd.id] = {obj.key.kind}
        elif obj.key.kind not in kinds:
            kinds.add(obj.key.kind)
        return rd

    # ---- models --------------------------------------------------------------------
    def models(self, device_id: str) -> ModelSet | None:
        """The YANG models a resolved device runs: its ``spec.models`` (the modules it names, else its
        objects' kind's where its directories hold them, else every module there), else (with
        ``yang_paths``) the models of its objects' kind; None: no models, values are sent and compared
        as written.

        A device serving objects of several kinds with models runs the first kind's (by name) unless
        its ``spec.models`` names them all. Raises DriverError when the models do not load.
        """
        rd = self.resolved[device_id]
        spec = rd.spec.models
        if spec is None and not self.yang_paths:
            return None
        from nwi.schema import ModelSetError, load_model_set, models_for_kind

        try:
            if spec is not None:
                dirs = self._model_dirs(rd, spec.yang_path, spec.config_map_ref)
                modules = spec.modules
                if modules is None:  # the kind's modules where the directories hold them, else all of theirs
                    modules = [m for k in sorted(self.kinds.get(device_id, ())) if (km := models_for_kind(k))
                               and km.available(dirs) for m in km.modules] or None
                return load_model_set(dirs, modules)
            for kind in sorted(self.kinds.get(device_id, ())):
                km = models_for_kind(kind)
                if km is not None:
                    return km.load(self.yang_paths)
        except ModelSetError as exc:
            raise DriverError(rd.name, f"YANG models: {exc}") from exc
        return None

    def _model_dirs(self, rd: ResolvedDevice, yang_path: list[str] | None, ref: SecretRef | None) -> list[Path]:
        if yang_path is not None:
            return [Path(p) for p in yang_path]
        assert ref is not None and rd.device is not None
        where = (rd.device.key.namespace, ref.name)
        if where not in self.model_dirs:
            raise DriverError(rd.name, f"YANG models: ConfigMap {where[0]}/{where[1]} (spec.models.configMapRef) "
                                       "not found; only the operator reads ConfigMaps (the CLI takes yangPath)")
        return [self.model_dirs[where]]

    # ---- credentials -----------------------------------------------------------------
    def _secret(self, namespace: str, name: str) -> dict[str, str]:
        secret = self.secrets.get(ObjectKey("Secret", namespace, name))
        if secret is None:
            raise CredentialsError(namespace, f"Secret {namespace}/{name} not found")
        return secret.data

    def connection_params(self, rd: ResolvedDevice) -> ConnectionParams:
        assert rd.device is not None
        dev, spec = rd.device, rd.device.spec
        ns = dev.key.namespace
        username = password = None
        if spec.credentials_secret_ref is not None:
            data = self._secret(ns, spec.credentials_secret_ref.name)
            username, password = data.get("username"), data.get("password")
        else:
            creds = self._file_credentials.get(rd.name) or self._file_credentials.get("*") or {}
            username = creds.get("username") or self._environ.get("NWI_USERNAME")
            password = creds.get("password") or self._environ.get("NWI_PASSWORD")
        ca = cert = key = None
        if spec.tls is not None:
            if spec.tls.ca_secret_ref is not None:
                ca = _pem(self._secret(ns, spec.tls.ca_secret_ref.name), "ca.crt")
            if spec.tls.client_cert_secret_ref is not None:
                data = self._secret(ns, spec.tls.client_cert_secret_ref.name)
                cert, key = _pem(data, "tls.crt"), _pem(data, "tls.key")
        return ConnectionParams(
            address=dev.address,
            port=spec.default_port(),
            username=username,
            password=password,
            insecure=spec.insecure,
            ca_cert=ca,
            client_cert=cert,
            client_key=key,
            skip_verify=bool(spec.tls and spec.tls.skip_verify),
            host_key_verify=spec.host_key_verify,
            encoding=spec.encoding or "json_ietf",
            connect_timeout=spec.timeouts.connect,
            operation_timeout=spec.timeouts.operation,
        )

    # ---- drivers -------------------------------------------------------------------
    def driver(self, device_id: str, state_dir: Path | None) -> Driver:
        """An unconnected driver for a resolved device."""
        from nwi.drivers.virtual import DeviceStore, VirtualDriver

        rd = self.resolved[device_id]
        spec = rd.spec
        if spec.driver == "virtual":
            if spec.backend == "linux":
                from nwi.drivers.linux import LinuxDatastore

                return VirtualDriver(rd.name, LinuxDatastore.for_device(rd.name))
            return VirtualDriver(rd.name, DeviceStore(rd.name, state_dir), self.models(device_id))
        params = self.connection_params(rd)
        if spec.driver == "gnmi":
            from nwi.drivers.gnmi import GnmiDriver

            return GnmiDriver(rd.name, params, self.models(device_id))
        from nwi.drivers.netconf import NetconfDriver

        return NetconfDriver(rd.name, params, models=self.models(device_id))


def _pem(data: Mapping[str, str], field: str) -> bytes:
    if field not in data:
        raise CredentialsError("tls", f"Secret has no {field!r}")
    return data[field].encode()


def _read_credentials_file(path: Path) -> dict[str, dict[str, Any]]:
    """``{device-name or "*": {username, password}}`` in YAML.

    Every error names the file and where, never what is written there: the
    file holds passwords, and PyYAML's own messages quote the offending line.
    """
    from nwi.loader import parse_yaml, read_input

    try:
        docs = parse_yaml(read_input(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise CredentialsError(str(path), f"credentials file {path}: malformed YAML{where}") from None
    except Exception as exc:  # unreadable, not a file, too large, too deep: the loader's message names no content
        raise CredentialsError(str(path), f"credentials file {path}: {exc}") from None
    doc = (docs[0] if docs else None) or {}
    if len(docs) > 1 or not isinstance(doc, dict):
        raise CredentialsError(str(path), f"credentials file {path}: must be one mapping of device names "
                                          "(or '*') to {username, password}")
    for device, entry in doc.items():
        if not isinstance(entry, dict) or set(entry) - {"username", "password"} or not all(
                isinstance(v, str) for v in entry.values()):
            raise CredentialsError(str(path), f"credentials file {path}: entry {str(device)!r}: must be "
                                              "{username: TEXT, password: TEXT}")
    return doc
