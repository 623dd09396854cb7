"""YANG models the operator reads from ConfigMaps (``Device.spec.models.configMapRef``).

libyang compiles modules from files, so each ConfigMap's ``.yang`` keys are
written under the state dir, in a directory named after their content: a
changed ConfigMap is a new directory and so a new model set (model sets are
cached per directory list), and a directory is complete or absent. Large
model sets (SR OS's 30 MB) exceed a ConfigMap's 1 MiB: mount them as a
volume and name the directory in ``spec.models.yangPath`` instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

from nwi.inventory import ResolvedDevice
from nwi.operator.kubeapi import Api


def model_dirs(api: Api, resolved: Iterable[ResolvedDevice], state_dir: Path) -> dict[tuple[str, str], Path]:
    """The ConfigMaps of models the Devices name (``spec.models.configMapRef``), each written as .yang files
    to a directory named by its content (a changed ConfigMap is a new directory: a new model set)."""
    out: dict[tuple[str, str], Path] = {}
    for rd in resolved:
        spec = rd.device.spec.models if rd.device is not None else None
        if spec is None or spec.config_map_ref is None:
            continue
        assert rd.device is not None
        where = (rd.device.key.namespace, spec.config_map_ref.name)
        if where in out:
            continue
        data = api.read_config_map(*where)
        if data is None:
            continue
        files = {k: v for k, v in sorted(data.items()) if k.endswith(".yang") and "/" not in k and k != ".yang"}
        digest = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:16]
        directory = state_dir / "models" / where[0] / f"{where[1]}-{digest}"
        if not directory.is_dir():
            tmp = directory.with_name(directory.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            for name, text in files.items():
                (tmp / name).write_text(text)
            os.replace(tmp, directory)  # whole or not at all: a half-written set never compiles
        out[where] = directory
    return out
