"""Confirmed commit: the nwi process dies between ``commit confirmed`` and the confirming commit.

The driver runs in a child process that is killed (SIGKILL, no cleanup of any
kind) right after the confirmed commit went through. The server must put
running back as it was and release every lock, on its own.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from harness.netconfd import IF_NS, NetconfServer, RawConnect
from lxml import etree

pytestmark = pytest.mark.protocol

REPO = Path(__file__).resolve().parents[2]

# The child applies one interface; after the confirmed commit it reports and waits to be killed.
CHILD = """
import os, sys, time
from nwi.drivers.base import Change, ConnectionParams, Op, Transaction
from nwi.drivers.netconf import NetconfDriver
from nwi.path import parse_path

port = int(sys.argv[1])
d = NetconfDriver("r1", ConnectionParams("127.0.0.1", port, "ncuser", "ncpass", host_key_verify=False))

def committed_now_die(*args):
    print("COMMITTED", flush=True)
    time.sleep(120)  # killed long before this ends

d._verify = committed_now_die
value = {"name": "eth5", "type": "iana-if-type:ethernetCsmacd", "description": "doomed"}
path = parse_path("/ietf-interfaces:interfaces/interface[name=eth5]")
d.apply(Transaction("r1", [Change(Op.UPDATE, path, value, "o", "OpenConfig")]))
print("CONFIRMED", flush=True)
"""


def _eth5(raw_running: etree._Element) -> str | None:
    found = raw_running.xpath("if:interfaces/if:interface[if:name='eth5']/if:description", namespaces={"if": IF_NS})
    return None if not found else str(found[0].text)


def test_killed_process_before_confirm_leaves_running_as_it_was(server: NetconfServer, raw: RawConnect) -> None:
    m = raw(server)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(server.port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()  # blocks until the child committed (or died)
        assert line.strip() == "COMMITTED", child.stderr.read() if child.stderr else ""
        # the unconfirmed commit is live in running ...
        assert _eth5(m.get_config(source="running").data_ele) == "doomed"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    # ... and reverted when the session drops, long before the 60 s confirm timeout
    deadline = time.monotonic() + 15
    while _eth5(m.get_config(source="running").data_ele) is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _eth5(m.get_config(source="running").data_ele) is None
    m.lock("candidate")  # no lock outlived the process
    m.unlock("candidate")
