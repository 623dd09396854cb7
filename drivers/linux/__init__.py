"""Linux backend of the virtual device: links in a network namespace through netlink.

``VirtualDriver(name, LinuxDatastore.for_device(name))`` is a virtual device
whose LinuxConfig objects become veth, macvlan, VLAN and bridge links in the
namespace ``nwi-<name>``. See drivers/linux/README.md for the schema.
"""

from nwi.drivers.linux.datastore import LinuxDatastore
from nwi.drivers.linux.netns import netns_for_device, remove_device_netns
from nwi.drivers.linux.schema import LinkSpec, canonical_linux_properties, validate_linux_properties

__all__ = [
    "LinkSpec",
    "LinuxDatastore",
    "canonical_linux_properties",
    "netns_for_device",
    "remove_device_netns",
    "validate_linux_properties",
]
