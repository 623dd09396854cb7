"""Mock gNMI server: a gNMI 0.8 target backed by nwi\x27s configuration tree."""
