"""Linux backend of the virtual device: links in a network namespace through netlink."""
