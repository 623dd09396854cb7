"""Device drivers behind one interface (imported as ``nwi.drivers``)."""
