"""Where tests find YANG models: unmodified vendor and OpenConfig models under <repo>/../shared/yang
(the project never carries them), and small modules of nwi's own, written by the tests that use them.

A test that needs the vendor models skips, saying why, where that folder is absent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_YANG = REPO.parent / "shared" / "yang"
SROS = SHARED_YANG / "sros-19.7"
SRLINUX = SHARED_YANG / "srlinux-25.3.1" / "srlinux-yang-models"
OPENCONFIG = SHARED_YANG / "openconfig-5.9.0"
#: Debian's libyuma-base (netconfd's IETF modules)
YUMA_IETF = Path("/usr/share/yuma/modules/ietf")

#: (directories, modules) per vendor: what the tests load
VENDORS = {
    "sros": ((SROS,), ("nokia-conf",)),
    "srlinux": ((SRLINUX,), ("srl_nokia-interfaces",)),
    "openconfig": ((OPENCONFIG / "release" / "models", OPENCONFIG / "third_party"),
                   ("openconfig-interfaces", "openconfig-if-ip", "iana-if-type")),
}


#: per vendor: a path, a valid value, and (bad value, the node the refusal names, words it says)
CASES: dict[str, tuple[str, dict[str, Any], list[tuple[dict[str, Any], str, str]]]] = {
    "sros": ("/configure/service/vpls[service-name=vpls-01]",
             {"admin-state": "enable", "service-id": 4321, "customer": "1234"},
             [({"admin-stat": "enable"}, "admin-stat", "did you mean admin-state?"),
              ({"service-id": 0}, "service-id", "range"),
              ({"admin-state": "enabled"}, "admin-state", "enumeration")]),
    "srlinux": ("/interface[name=ethernet-1/1]",
                {"admin-state": "enable", "mtu": 9000, "description": "uplink"},
                [({"admin-stat": "enable"}, "admin-stat", "did you mean admin-state?"),
                 ({"mtu": 100}, "mtu", "range"),
                 ({"admin-state": "up"}, "admin-state", "enumeration")]),
    "openconfig": ("/interfaces/interface[name=eth0]/config",
                   {"name": "eth0", "type": "ethernetCsmacd", "mtu": 1500},
                   [({"mtuu": 1500}, "mtuu", "did you mean mtu?"),
                    ({"mtu": 99999}, "mtu", "uint16"),
                    ({"loopback-mode": "SIDEWAYS"}, "loopback-mode", "enumeration")]),
}


def need(*dirs: Path) -> tuple[Path, ...]:
    for d in dirs:
        if not d.is_dir():
            pytest.skip(f"YANG models not found at {d} (tests read them from <repo>/../shared/yang)")
    return dirs


#: nwi's own test modules: every type RFC 7951 encodes specially, an augment and an identity
#: from another module
TEST_MODULES = {
    "nwi-test-base.yang": """
module nwi-test-base {
  yang-version 1.1;
  namespace "urn:nwi:test:base";
  prefix tb;
  organization "nwi tests";
  revision 2026-01-01;
  identity medium;
  container box {
    leaf big { type int64; }
    leaf ubig { type uint64; }
    leaf ratio { type decimal64 { fraction-digits 2; } }
    leaf small { type uint32; }
    leaf label { type string; }
    leaf on { type boolean; }
    leaf marker { type empty; }
    leaf medium { type identityref { base medium; } }
    leaf level { type enumeration { enum low; enum high; } }
    leaf-list tags { type string; }
    list slot {
      key "id";
      leaf id { type uint8; }
      leaf size { type int64; }
    }
    container counters { config false; leaf hits { type uint64; } }
  }
}
""",
    "nwi-test-ext.yang": """
module nwi-test-ext {
  yang-version 1.1;
  namespace "urn:nwi:test:ext";
  prefix te;
  import nwi-test-base { prefix tb; }
  organization "nwi tests";
  revision 2026-02-02;
  identity fibre { base tb:medium; }
  augment "/tb:box/tb:slot" {
    container optics { leaf power { type decimal64 { fraction-digits 1; } } }
  }
}
""",
}


def write_test_modules(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in TEST_MODULES.items():
        (directory / name).write_text(text)
    return directory
