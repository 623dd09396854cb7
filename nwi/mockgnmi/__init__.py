"""Mock gNMI server: a gNMI 0.10 target backed by nwi's configuration tree.

Users run it in CI to test their GitOps repositories before touching a real
router (``nwi mock-gnmi``, or ``python -m nwi.mockgnmi``); nwi's own tests run
it through :mod:`nwi.mockgnmi.harness`. Modules, one job each:

* :mod:`~nwi.mockgnmi.target`: a target = a Datastore + state, credentials, faults
* :mod:`~nwi.mockgnmi.service`: Capabilities, Get, Set (spec sections 3.2-3.4)
* :mod:`~nwi.mockgnmi.setops`: a SetRequest read, checked and made one transaction
* :mod:`~nwi.mockgnmi.values`: strict JSON values, JSON_IETF module qualification
* :mod:`~nwi.mockgnmi.subscribe`: Subscribe ONCE / POLL / STREAM
* :mod:`~nwi.mockgnmi.server`: gRPC listeners, one per port
* :mod:`~nwi.mockgnmi.faults`: latency, failing Sets, dropped connections, refusal to start
* :mod:`~nwi.mockgnmi.tlsgen`: CA, server and client certificates
* :mod:`~nwi.mockgnmi.devices`: the ``--devices`` YAML file (format in its docstring)
* :mod:`~nwi.mockgnmi.harness`: start it in-process or as a child process
* :mod:`~nwi.mockgnmi.cli`: the command line

It answers as gNMI 0.10.0 says, strict where real targets are strict:
malformed JSON, ``null`` and a list entry replaced with ``{}`` are
INVALID_ARGUMENT and abort the whole Set (pygnmi's unquoted strings only
with the ``bare_strings`` opt-in); a list element without keys selects every
entry; ``updates_only`` sends no initial state in any Subscribe mode; unknown
modes are INVALID_ARGUMENT; JSON_IETF answers qualify top-level members with
their module (:func:`~nwi.mockgnmi.values.qualify` says how the module is
known without YANG). Where vendors (SR Linux, SR OS, Arista EOS) differ from
the specification and which way the mock goes, with the reasons: README.md,
"How strict the mock gNMI server is".
"""

from nwi.mockgnmi.faults import Faults
from nwi.mockgnmi.harness import memory_target, running, spawned
from nwi.mockgnmi.server import MockGnmiServer
from nwi.mockgnmi.target import Credentials, Model, Target

__all__ = ["Credentials", "Faults", "MockGnmiServer", "Model", "Target", "memory_target", "running", "spawned"]
